using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CardKeep.Agent.HostKeys;
using CardKeep.Agent.Keys;
using CardKeep.Agent.SshAgent;

namespace CardKeep.Agent.Tests.HostKeys;

public sealed class HostKeyStoreTests : IDisposable
{
    private const int Iterations = 1000;
    private readonly string _dir = Directory.CreateTempSubdirectory("cardkeep-hks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AddThenReadAll_EveryType_RoundTripsAndFileIsOwnerOnly()
    {
        string path = Path.Combine(_dir, "1000.json");
        var store = HostKeyStore.Create(path, 1000, "pass"u8, Iterations);
        var types = new[] { SshKeyType.Rsa, SshKeyType.EcdsaP256, SshKeyType.EcdsaP384, SshKeyType.Ed25519 };
        var publics = new List<SshPublicKey>();
        using (var key = store.Unlock("pass"u8))
        {
            foreach (var type in types)
            {
                using var k = SoftwareKey.Generate(type, 2048, type.Name(), KeySource.HostStore);
                store.Add(key, k);
                publics.Add(k.PublicKey);
            }
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var reopened = HostKeyStore.Open(path);
        Assert.Equal(4, reopened.Keys.Count);
        using var again = reopened.Unlock("pass"u8);
        var keys = reopened.ReadAll(again);
        Assert.Equal(publics, keys.Select(k => k.PublicKey));
        Assert.All(keys, k => Assert.True(k.PublicKey.Verify("m"u8, k.SignSsh("m"u8, 4))));
        foreach (var k in keys)
        {
            k.Dispose();
        }

        // Nothing secret in clear: the file holds no private scalar of any key type name… only sealed blobs.
        Assert.DoesNotContain("PRIVATE", File.ReadAllText(path), StringComparison.Ordinal);
    }

    [Fact]
    public void Unlock_WrongPassphrase_ThrowsWrongPassphrase()
    {
        string path = Path.Combine(_dir, "1.json");
        var store = HostKeyStore.Create(path, 1, "right"u8, Iterations);
        Assert.Throws<WrongPassphraseException>(() => store.Unlock("wrong"u8));
    }

    [Fact]
    public void ReadAll_SealedKeyMovedToAnotherUidsFile_FailsAuthentication()
    {
        string alice = Path.Combine(_dir, "1000.json");
        string bob = Path.Combine(_dir, "2000.json");
        var a = HostKeyStore.Create(alice, 1000, "same"u8, Iterations);
        using (var key = a.Unlock("same"u8))
        using (var k = SoftwareKey.Generate(SshKeyType.Ed25519, 0, "a", KeySource.HostStore))
        {
            a.Add(key, k);
        }

        // Bob's file with the same passphrase and salt, then Alice's sealed key copied in: the uid in the AAD differs.
        var aliceJson = JsonNode.Parse(File.ReadAllText(alice))!;
        var bobJson = aliceJson.DeepClone();
        bobJson["uid"] = 2000;
        var check = HostKeyStore.Create(Path.Combine(_dir, "tmp.json"), 2000, "same"u8, Iterations);
        bobJson["salt"] = JsonNode.Parse(File.ReadAllText(check.Path))!["salt"]!.DeepClone();
        bobJson["check"] = JsonNode.Parse(File.ReadAllText(check.Path))!["check"]!.DeepClone();
        File.WriteAllText(bob, bobJson.ToJsonString());
        var b = HostKeyStore.Open(bob);
        using var bobKey = b.Unlock("same"u8);
        Assert.ThrowsAny<CryptographicException>(() => b.ReadAll(bobKey));
    }

    [Fact]
    public void ReadAll_FlippedCiphertextByte_FailsAuthentication()
    {
        string path = Path.Combine(_dir, "1.json");
        var store = HostKeyStore.Create(path, 1, "p"u8, Iterations);
        using (var key = store.Unlock("p"u8))
        using (var k = SoftwareKey.Generate(SshKeyType.EcdsaP256, 0, "e", KeySource.HostStore))
        {
            store.Add(key, k);
        }

        var json = JsonNode.Parse(File.ReadAllText(path))!;
        var sealedBytes = Convert.FromBase64String(json["keys"]![0]!["sealed"]!.GetValue<string>());
        sealedBytes[20] ^= 1;
        json["keys"]![0]!["sealed"] = Convert.ToBase64String(sealedBytes);
        File.WriteAllText(path, json.ToJsonString());
        var damaged = HostKeyStore.Open(path);
        using var again = damaged.Unlock("p"u8);
        Assert.ThrowsAny<CryptographicException>(() => damaged.ReadAll(again));
    }

    [Fact]
    public void Remove_KnownFingerprint_RemovesIt()
    {
        string path = Path.Combine(_dir, "1.json");
        var store = HostKeyStore.Create(path, 1, "p"u8, Iterations);
        using var key = store.Unlock("p"u8);
        using var k = SoftwareKey.Generate(SshKeyType.Ed25519, 0, "e", KeySource.HostStore);
        store.Add(key, k);
        Assert.True(store.Remove(key, k.PublicKey.Fingerprint));
        Assert.Empty(HostKeyStore.Open(path).Keys);
        Assert.False(store.Remove(key, k.PublicKey.Fingerprint));
    }
}
