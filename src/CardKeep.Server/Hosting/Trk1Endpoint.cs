using System.Data.Common;
using CardKeep.Protocol;
using CardKeep.Server.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Hosting;

/// <summary>
/// Runs a TRK1 handler over HTTP: the body (application/octet-stream) is read up to a limit, the handler's answer is
/// returned as 200, and any failure — protocol, storage or bug — is answered with the one generic error (400, the
/// same 24 bytes every time). The reason goes to the log only. An unavailable database is not a failure of the
/// message: it passes to <see cref="StorageGate"/>, which answers 503 so that the client retries or tries another server.
/// </summary>
internal static class Trk1Endpoint
{
    public const string ContentType = "application/octet-stream";

    public static async Task<IResult> RunAsync(HttpContext context, string step, int maxBody, ILogger logger, Func<byte[], Task<byte[]>> handler)
    {
        string? remote = context.Connection.RemoteIpAddress?.ToString();
        try
        {
            var body = await ReadBodyAsync(context.Request, maxBody, context.RequestAborted).ConfigureAwait(false);
            var answer = await handler(body).ConfigureAwait(false);
            return Results.Bytes(answer, ContentType);
        }
        catch (Trk1Exception e)
        {
            Log.Refused(logger, step, remote, e.Failure.ToString(), e.Detail);
            return Error();
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or IOException or System.Security.Cryptography.CryptographicException
            && StorageFailures.Classify(e) is null)
        {
            Log.InternalError(logger, step, e);
            return Error();
        }
    }

    public static IResult Error() => new ErrorResult(StatusCodes.Status400BadRequest);

    /// <summary>The generic error bytes with <paramref name="status"/> (400, or 429 when rate limited).</summary>
    public static async Task WriteErrorAsync(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = ContentType;
        await context.Response.Body.WriteAsync(Trk1Wire.ErrorMessage.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }

    private sealed class ErrorResult(int status) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => WriteErrorAsync(httpContext, status);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, int max, CancellationToken cancellationToken)
    {
        if (request.ContentLength > max)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "request body over the limit");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
            {
                throw new Trk1Exception(Trk1Failure.Malformed, "request body over the limit");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
