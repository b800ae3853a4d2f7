using System.Text.Json;
using System.Text.Json.Serialization;

namespace CardKeep.Protocol.Gateway;

/// <summary>A request for an application server, the payload of a GatewayRequest record (JSON, snake_case).</summary>
public sealed record GatewayRequest
{
    /// <summary>Application name.</summary>
    public required string App { get; init; }

    /// <summary>HTTP method (GET, HEAD, POST, PUT, PATCH, DELETE).</summary>
    public string Method { get; init; } = "GET";

    /// <summary>Path and query on the application server, starting with '/'.</summary>
    public required string Path { get; init; }

    /// <summary>Content type of the body.</summary>
    public string? ContentType { get; init; }

    /// <summary>Body, base64.</summary>
    public string? Body { get; init; }
}

/// <summary>The answer, the payload of a GatewayResponse record.</summary>
public sealed record GatewayResponse
{
    /// <summary>HTTP status (403 when refused, 502 when the application server failed).</summary>
    public int Status { get; init; }

    /// <summary>Content type.</summary>
    public string? ContentType { get; init; }

    /// <summary>Body, base64.</summary>
    public string? Body { get; init; }

    /// <summary>Why the gateway refused (refusals only).</summary>
    public string? Error { get; init; }
}

/// <summary>JSON of the gateway payloads (unknown members refused).</summary>
public static class GatewayMessages
{
    private static readonly JsonSerializerOptions _json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Serialises a request.</summary>
    public static byte[] Serialize(GatewayRequest request) => JsonSerializer.SerializeToUtf8Bytes(request, _json);

    /// <summary>Serialises a response.</summary>
    public static byte[] Serialize(GatewayResponse response) => JsonSerializer.SerializeToUtf8Bytes(response, _json);

    /// <summary>Parses a request, or null when it is not one.</summary>
    public static GatewayRequest? ParseRequest(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<GatewayRequest>(json, _json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Parses a response; a malformed one is a <see cref="Trk1Exception"/>.</summary>
    public static GatewayResponse ParseResponse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<GatewayResponse>(json, _json) ?? throw new Trk1Exception(Trk1Failure.Malformed, "empty gateway response");
        }
        catch (JsonException)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "gateway response is not valid JSON of the schema");
        }
    }
}
