using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CardKeep.Client.Recovery;

/// <summary>The server said no, or could not be reached or understood: the message names which, never a secret.</summary>
public sealed class MachineServerException(string message, bool unreachable, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>No server answered (network, timeout, 5xx): the gate may go on with what it knows locally.</summary>
    public bool Unreachable { get; } = unreachable;
}

/// <summary>The server's answer to an access-key check.</summary>
public sealed record AccessKeyCheck(bool Valid, bool MustRotate);

/// <summary>
/// The calls a machine makes to the recovery server with its machine secret (docs/recovery.md):
/// <c>POST /v1/account/access-key/verify</c> and <c>POST /v1/account/access-key/rotate</c>. Tries the binding's servers
/// in order; a server that does not answer (or answers 5xx) is skipped, a 4xx answer is final.
/// </summary>
public sealed class MachineServerClient : IDisposable
{
    private static readonly JsonSerializerOptions _json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly MachineBinding _binding;

    public MachineServerClient(MachineBinding binding, TimeSpan? timeout = null, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(binding);
        _binding = binding;
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.Timeout = timeout ?? TimeSpan.FromSeconds(10);
    }

    /// <summary>Whether the server accepts <paramref name="accessKey"/> (its printed form) for this machine.</summary>
    public async Task<AccessKeyCheck> VerifyAsync(string accessKey, CancellationToken cancellationToken = default)
    {
        var answer = await PostAsync<VerifyAnswer>("/v1/account/access-key/verify", new VerifyRequest(Username, _binding.MachineId, _binding.MachineSecret, accessKey),
            cancellationToken).ConfigureAwait(false);
        return new AccessKeyCheck(answer.Valid, answer.MustRotate);
    }

    /// <summary>Asks the server for a new access key for this machine (the old one is cancelled); returns it in printed form.</summary>
    public async Task<string> RotateAsync(CancellationToken cancellationToken = default)
    {
        var answer = await PostAsync<RotateAnswer>("/v1/account/access-key/rotate", new RotateRequest(Username, _binding.MachineId, _binding.MachineSecret),
            cancellationToken).ConfigureAwait(false);
        return answer.AccessKey is { Length: > 0 } key ? key : throw new MachineServerException("the server's rotate answer has no access key", unreachable: false);
    }

    /// <summary>
    /// The server's state of <paramref name="cardSerial"/> for this machine's user: "active", "revoked", "expired" or
    /// "unknown" (revoked from another computer, say).
    /// </summary>
    public async Task<string> CardStatusAsync(string cardSerial, CancellationToken cancellationToken = default)
    {
        var answer = await PostAsync<CardStatusAnswer>("/v1/account/machine/card-status", new CardStatusRequest(Username, _binding.MachineId, _binding.MachineSecret, cardSerial),
            cancellationToken).ConfigureAwait(false);
        return answer.State is { Length: > 0 } state ? state : throw new MachineServerException("the server's card-status answer has no state", unreachable: false);
    }

    public void Dispose() => _http.Dispose();

    private string Username => _binding.Account ?? _binding.User;

    private async Task<T> PostAsync<T>(string path, object body, CancellationToken cancellationToken)
    {
        if (_binding.ServerUrls.Count == 0)
        {
            throw new MachineServerException("the binding names no server", unreachable: true);
        }

        var failures = new List<string>();
        foreach (string server in _binding.ServerUrls)
        {
            var uri = new Uri(new Uri(server.TrimEnd('/') + "/"), path.TrimStart('/'));
            HttpResponseMessage response;
            try
            {
                response = await _http.PostAsJsonAsync(uri, body, _json, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                failures.Add($"{server}: {e.Message}");
                continue;
            }

            using (response)
            {
                if ((int)response.StatusCode >= 500)
                {
                    failures.Add($"{server}: HTTP {(int)response.StatusCode}");
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    string title = await ProblemTitleAsync(response, cancellationToken).ConfigureAwait(false);
                    throw new MachineServerException($"{server} refused: {title}", unreachable: false);
                }

                try
                {
                    return await response.Content.ReadFromJsonAsync<T>(_json, cancellationToken).ConfigureAwait(false)
                        ?? throw new MachineServerException($"{server} answered an empty body", unreachable: false);
                }
                catch (JsonException e)
                {
                    throw new MachineServerException($"{server} answered something that is not the expected JSON", unreachable: false, e);
                }
            }
        }

        throw new MachineServerException("no recovery server answered (" + string.Join("; ", failures) + ")", unreachable: true);
    }

    private static async Task<string> ProblemTitleAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string fallback = $"HTTP {(int)response.StatusCode}";
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<Problem>(_json, cancellationToken).ConfigureAwait(false);
            return problem?.Title is { Length: > 0 } title ? $"{title} ({fallback})" : fallback;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            return fallback;
        }
    }

    private sealed record VerifyRequest(string Username, string MachineId, string MachineSecret, string AccessKey);

    private sealed record RotateRequest(string Username, string MachineId, string MachineSecret);

    private sealed record VerifyAnswer(bool Valid, bool MustRotate);

    private sealed record CardStatusRequest(string Username, string MachineId, string MachineSecret, string CardSerial);

    private sealed record CardStatusAnswer(string? CardSerial, string? State, string? ReplacedBy);

    private sealed record RotateAnswer(string? MachineId, string? AccessKey);

    private sealed record Problem([property: JsonPropertyName("title")] string? Title);
}
