using System.Security.Cryptography;
using System.Text;
using CardKeep.VirtualCard.Store;

namespace CardKeep.VirtualCard.Tests.Store;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("cardkeep-vsc-test-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder does not fail a test.
        }
    }
}

/// <summary>Cards with the weak test KDF (1,000 iterations) so that PIN operations take milliseconds.</summary>
internal static class TestCards
{
    public const int WeakIterations = 1000;

    public static readonly VscOpenOptions Weak = new() { AllowWeakKdfForTests = true };

    public static VscCreateOptions Options(string? id = "test-card") => new()
    {
        Id = id,
        Label = "Test card",
        Iterations = WeakIterations,
        AllowWeakKdfForTests = true,
    };

    public static VirtualSmartCard Create(TempDir dir, VscCreateOptions? options = null, string file = "card.vsc") =>
        VirtualSmartCard.Create(dir.File(file), options ?? Options());

    /// <summary>Disposes <paramref name="card"/> and opens its file again in a new object.</summary>
    public static VirtualSmartCard Reopen(VirtualSmartCard card)
    {
        string path = card.Path;
        card.Dispose();
        return VirtualSmartCard.Open(path, Weak);
    }

    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    public static VscUnlock Unlock(VirtualSmartCard card, string pin = "123456") =>
        Assert.IsType<PinResult.Verified>(card.VerifyPin(Ascii(pin))).Unlock;

    public static VscUnlock Verified(PinResult result) => Assert.IsType<PinResult.Verified>(result).Unlock;

    public static int Wrong(PinResult result) => Assert.IsType<PinResult.Wrong>(result).RetriesLeft;

    public static (byte[] Pkcs8, byte[] Spki) EcKey(ECCurve curve)
    {
        using var key = ECDsa.Create(curve);
        return (key.ExportPkcs8PrivateKey(), key.ExportSubjectPublicKeyInfo());
    }

    public static (byte[] Pkcs8, byte[] Spki) RsaKey(int bits)
    {
        using var key = RSA.Create(bits);
        return (key.ExportPkcs8PrivateKey(), key.ExportSubjectPublicKeyInfo());
    }

    /// <summary>Unix permission bits of a file or folder (the store is Unix-first; these tests run on Linux CI).</summary>
    public static UnixFileMode ModeOf(string path) =>
        OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException() : System.IO.File.GetUnixFileMode(path);

    /// <summary>True when <paramref name="needle"/> occurs anywhere in <paramref name="haystack"/>.</summary>
    public static bool Contains(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>Rewrites a decoded document into the file with a fresh (valid) seal, as an attacker with write access could.</summary>
    public static void WriteResealed(string path, VscDocument document) => System.IO.File.WriteAllBytes(path, VscCodec.Encode(document));

    public static VscDocument Decode(string path) => new VscDecoder(path, allowWeakKdf: true).Decode(System.IO.File.ReadAllBytes(path));

    /// <summary>Recomputes the SHA-256 seal of a raw file image in place.</summary>
    public static void Reseal(byte[] file) =>
        SHA256.HashData(file.AsSpan(0, file.Length - VscCodec.SealLength), file.AsSpan(file.Length - VscCodec.SealLength));
}
