using FluentValidation;
using Microsoft.AspNetCore.Diagnostics;

namespace VoiceAgent.Api.Common;

/// <summary>The one place HTTP errors become ProblemDetails. Messages say what was wrong, never echo the request.</summary>
internal sealed partial class ExceptionHandler(IProblemDetailsService problems, ILogger<ExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var (status, title) = exception switch
        {
            ValidationException => (StatusCodes.Status400BadRequest, "The request is not valid."),
            BadHttpRequestException bad => (bad.StatusCode, "The request could not be read."),
            _ => (StatusCodes.Status500InternalServerError, "Something went wrong."),
        };

        if (status >= 500)
        {
            Log.Unhandled(logger, exception, httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = status;
        var context = new ProblemDetailsContext { HttpContext = httpContext, Exception = exception };
        context.ProblemDetails.Status = status;
        context.ProblemDetails.Title = title;
        if (exception is ValidationException validation)
        {
            context.ProblemDetails.Extensions["errors"] = validation.Errors
                .GroupBy(e => e.PropertyName, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).ToArray(), StringComparer.Ordinal);
        }

        return await problems.TryWriteAsync(context);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9001, Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
        public static partial void Unhandled(ILogger logger, Exception exception, string path);
    }
}
