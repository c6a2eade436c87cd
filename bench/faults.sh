#!/usr/bin/env bash
# Fault run (bounded, loopback only): 1,000 malformed, oversized, binary and out-of-order frames across 50 sessions
# while a good call keeps talking. Reproduce: bash bench/faults.sh → bench/results/faults.md
# The other faults have automated tests: model throttling/5xx/mid-stream errors (BedrockResilienceTests), the
# database stopped and restarted mid-call (StoreOutageTests), SIGTERM with live calls (DrainTests).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dotnet build -c Release src/Api/VoiceAgent.Api.csproj >/dev/null
dotnet build -c Release tools/Simulator/VoiceAgent.Simulator.csproj >/dev/null
port=5193
(cd src/Api/bin/Release/net10.0 && exec env ASPNETCORE_ENVIRONMENT=Production Twilio__AuthToken=fault-token \
   Twilio__PublicBaseUrl=http://127.0.0.1:$port Llm__Provider=Instant Store__SeedPath="$root/bench/seed" \
   Conversation__DefaultUseCaseId=bench Relay__MaxFrameBytes=65536 Logging__LogLevel__Default=Error \
   dotnet VoiceAgent.Api.dll --urls http://127.0.0.1:$port >/tmp/fault-api.log 2>&1) &
api=$!
trap 'kill $api 2>/dev/null || true; wait $api 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
out=bench/results/faults.md
{
  echo "# Fault run — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Command: \`bash bench/faults.sh\`. 50 sessions (half set up first) send 1,000 bad frames; one good call talks throughout."
  echo
  echo '```'
  dotnet tools/Simulator/bin/Release/net10.0/VoiceAgent.Simulator.dll fault --url ws://127.0.0.1:$port/ws --auth-token fault-token --calls 50 --turns 1000
  echo '```'
  echo
  echo "Service still running afterwards: $(kill -0 $api 2>/dev/null && echo yes || echo NO)."
} | tee "$out"
