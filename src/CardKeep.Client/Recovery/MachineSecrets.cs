using System.Security.Cryptography;
using CardKeep.Protocol.Recovery;

namespace CardKeep.Client.Recovery;

/// <summary>
/// Checks of the secrets that open this computer without its card, against the verifiers in a
/// <see cref="MachineBinding"/>. Access keys use the server's verifier format (<see cref="AccessKeyVerifier"/>), so a
/// verifier can be copied from either side; the kit's verifier is SHA-256 of its 256-bit random secret. Comparisons are
/// constant-time.
/// </summary>
public static class MachineSecrets
{
    /// <summary>A binding with <paramref name="accessKey"/> as its only access key (the old one cancelled).</summary>
    public static MachineBinding WithAccessKey(this MachineBinding binding, AccessKey accessKey, int iterations = AccessKeyVerifier.DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(binding);
        ArgumentNullException.ThrowIfNull(accessKey);
        using var random = RandomNumberGenerator.Create();
        return binding with { AccessKeys = [AccessKeyVerifier.Create(accessKey, random, iterations)] };
    }

    /// <summary>The first of <paramref name="verifiers"/> that <paramref name="accessKey"/> matches, or null. Every verifier is checked.</summary>
    public static string? Match(AccessKey accessKey, IEnumerable<string> verifiers)
    {
        ArgumentNullException.ThrowIfNull(verifiers);
        string? found = null;
        foreach (string verifier in verifiers)
        {
            if (AccessKeyVerifier.Verify(accessKey, verifier) && found is null)
            {
                found = verifier;
            }
        }

        return found;
    }

    /// <summary>The kit verifier: SHA-256 of the kit's random secret.</summary>
    public static KitVerifier KitVerifier(string kitId, ReadOnlySpan<byte> kitSecret, DateTimeOffset created) =>
        new(kitId, Convert.ToBase64String(SHA256.HashData(kitSecret)), created);

    /// <summary>Whether <paramref name="kitSecret"/> is the one <paramref name="verifier"/> was made from (constant time).</summary>
    public static bool KitMatches(KitVerifier verifier, ReadOnlySpan<byte> kitSecret)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(kitSecret), Convert.FromBase64String(verifier.SecretHash));
    }
}
