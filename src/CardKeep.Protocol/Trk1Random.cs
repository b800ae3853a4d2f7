using System.Security.Cryptography;

namespace CardKeep.Protocol;

/// <summary>The randomness the protocol uses: every nonce, key half, handle and ephemeral private key comes from here.</summary>
public interface ITrk1Random
{
    /// <summary>Fills <paramref name="destination"/> with random bytes.</summary>
    void Fill(Span<byte> destination);
}

/// <summary>The operating system's CSPRNG (<see cref="RandomNumberGenerator"/>).</summary>
public sealed class SystemTrk1Random : ITrk1Random
{
    /// <summary>The shared instance.</summary>
    public static SystemTrk1Random Instance { get; } = new();

    /// <inheritdoc/>
    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}

/// <summary>Extension helpers over <see cref="ITrk1Random"/>.</summary>
public static class Trk1RandomExtensions
{
    /// <summary><paramref name="count"/> fresh random bytes.</summary>
    public static byte[] Bytes(this ITrk1Random random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        var bytes = new byte[count];
        random.Fill(bytes);
        return bytes;
    }
}
