# syntax=docker/dockerfile:1
# Multi-stage build for linux/amd64 (Fargate). The runtime image runs as the non-root "app" user.
FROM --platform=linux/amd64 mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig VoiceAgent.slnx ./
COPY src/Domain/VoiceAgent.Domain.csproj src/Domain/
COPY src/Application/VoiceAgent.Application.csproj src/Application/
COPY src/Infrastructure/VoiceAgent.Infrastructure.csproj src/Infrastructure/
COPY src/Api/VoiceAgent.Api.csproj src/Api/
# Every business domain module (the host references src/Modules/*; adding one changes nothing here).
COPY src/Modules/ src/Modules/
RUN dotnet restore src/Api/VoiceAgent.Api.csproj -r linux-x64
COPY src/ src/
COPY seed/ seed/
RUN dotnet publish src/Api/VoiceAgent.Api.csproj -c Release -r linux-x64 --self-contained false --no-restore -o /app

FROM --platform=linux/amd64 mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app .
# GC and thread-pool settings travel in the app's runtimeconfig.json (see "Runtime settings" in the README).
ENV ASPNETCORE_URLS=http://+:8080
EXPOSE 8080
USER app
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["dotnet", "VoiceAgent.Api.dll", "healthcheck"]
# Exec form: dotnet runs as PID 1 and receives SIGTERM directly, so readiness drops and live calls drain.
ENTRYPOINT ["dotnet", "VoiceAgent.Api.dll"]
