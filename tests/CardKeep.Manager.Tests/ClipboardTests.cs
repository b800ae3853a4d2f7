namespace CardKeep.Manager.Tests;

public sealed class ClipboardTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("ck-clip-data").FullName;
    private readonly string _runtime = Directory.CreateTempSubdirectory("ck-clip-run").FullName;

    [Fact]
    public void Put_PublicOnly_StoredPlainAndReadBack()
    {
        var clipboard = new Clipboard(_data, _runtime);
        clipboard.Put("vsc:a", [new CardObject(0x5FFF10, ObjectArea.Public, "https://x.example"u8.ToArray())]);
        Assert.Contains("\"Encrypted\":false", File.ReadAllText(Path.Combine(_data, "clipboard.json")), StringComparison.Ordinal);
        var content = clipboard.Get()!;
        Assert.Equal("vsc:a", content.Source);
        Assert.Equal("https://x.example"u8.ToArray(), content.Objects.Single().Value);
        Assert.False(File.Exists(Path.Combine(_runtime, "clipboard.key")));
    }

    [Fact]
    public void Put_PrivateObject_EncryptedOnDiskAndKeyedToTheSession()
    {
        var clipboard = new Clipboard(_data, _runtime);
        byte[] secret = "account 1234-5678"u8.ToArray();
        clipboard.Put("vsc:a", [new CardObject(0x5FFF12, ObjectArea.Private, secret)]);
        byte[] onDisk = File.ReadAllBytes(Path.Combine(_data, "clipboard.json"));
        Assert.Equal(-1, onDisk.AsSpan().IndexOf(secret));
        Assert.DoesNotContain(Convert.ToBase64String(secret), System.Text.Encoding.UTF8.GetString(onDisk), StringComparison.Ordinal);
        Assert.Equal(secret, clipboard.Get()!.Objects.Single().Value);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_runtime, "clipboard.key")));

        // A new login session has a new runtime folder: the old clipboard cannot be read.
        File.Delete(Path.Combine(_runtime, "clipboard.key"));
        Assert.Contains("earlier login session", Assert.Throws<ManagerException>(() => clipboard.Get()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_TamperedCiphertext_RefusedClearly()
    {
        var clipboard = new Clipboard(_data, _runtime);
        clipboard.Put("vsc:a", [new CardObject(0x5FFF12, ObjectArea.Private, [1, 2, 3])]);
        string path = Path.Combine(_data, "clipboard.json");
        string json = File.ReadAllText(path);
        int at = json.IndexOf("\"Ciphertext\":\"", StringComparison.Ordinal) + 14;
        char flipped = json[at] == 'A' ? 'B' : 'A';
        File.WriteAllText(path, json[..at] + flipped + json[(at + 1)..]);
        Assert.Contains("cannot be decrypted", Assert.Throws<ManagerException>(() => clipboard.Get()).Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        Directory.Delete(_data, true);
        Directory.Delete(_runtime, true);
    }
}
