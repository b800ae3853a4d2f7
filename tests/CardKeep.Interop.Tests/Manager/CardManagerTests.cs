using System.Text.Json;
using CardKeep.Interop.Tests.Harness;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Interop.Tests.Manager;

/// <summary>
/// The card manager end to end. The "real" card is a PIV VSC live in a reader of the private pcscd; OpenSC,
/// yubico-piv-tool and openssl write to it and read from it as they would with any PIV card or YubiKey.
/// </summary>
public sealed class CardManagerTests : IDisposable
{
    private const string CardPin = "123456";
    private const string CardPuk = "12345678";
    private readonly string _cards = Directory.CreateTempSubdirectory("cardkeep-cards-").FullName;
    private readonly string _home = Directory.CreateTempSubdirectory("cardkeep-home-").FullName;

    private VirtualSmartCard NewCard(string name) => VirtualSmartCard.Create(Path.Combine(_cards, name + ".vsc"), new VscCreateOptions
    {
        Id = name,
        Pin = "123456"u8.ToArray(),
        Puk = "12345678"u8.ToArray(),
        ManagementKey = VirtualSmartCard.DefaultManagementKey.ToArray(),
        AllowWeakKdfForTests = true,
        Iterations = 1000,
    });

    private Task<ProcessResult> CardKeep(IDictionary<string, string?> env, params string[] args)
    {
        var all = new Dictionary<string, string?>(env) { ["CARDKEEP_HOME"] = _home, ["XDG_RUNTIME_DIR"] = Path.Combine(_home, "run") };
        Directory.CreateDirectory(Path.Combine(_home, "run"));
        return CardKeepCli.RunAsync(args, all, timeout: TimeSpan.FromMinutes(2));
    }

    private static async Task PopulateAsync(PivTools tools)
    {
        // A key and certificate in 9A, exactly as a card issuer would do it with the stock tools.
        await tools.YubicoAsync("-a", "generate", "-s", "9a", "-A", "ECCP256", "-o", tools.PathOf("pub9a.pem"));
        await tools.MustAsync("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", tools.PathOf("ca.key"), "-out", tools.PathOf("ca.crt"), "-subj", "/CN=Test Issuer", "-days", "30");
        await tools.MustAsync("openssl", "x509", "-new", "-subj", "/CN=Alice Example", "-key", tools.PathOf("ca.key"),
            "-force_pubkey", tools.PathOf("pub9a.pem"), "-days", "30", "-out", tools.PathOf("cert9a.pem"));
        await tools.YubicoAsync("-a", "import-certificate", "-s", "9a", "-i", tools.PathOf("cert9a.pem"));
        await tools.YubicoAsync("-a", "set-chuid");
        await File.WriteAllBytesAsync(tools.PathOf("printed.bin"), Convert.FromHexString("010D416C69636520457861 6D706C65".Replace(" ", string.Empty, StringComparison.Ordinal)));
        await tools.YubicoAsync("-a", "write-object", "--id", "0x5fc109", "--format", "binary", "-i", tools.PathOf("printed.bin"));
        await File.WriteAllTextAsync(tools.PathOf("urls.txt"), "https://mail.example.com\nhttps://intranet.example.com\n");
        await tools.YubicoAsync("-a", "write-object", "--id", "0x5fff10", "--format", "binary", "-i", tools.PathOf("urls.txt"));
    }

    private sealed record Snapshot(Dictionary<uint, byte[]> Objects, string Status, string Pkcs15, string Pkcs11);

    private static async Task<Snapshot> SnapshotAsync(PivTools tools)
    {
        var objects = new Dictionary<uint, byte[]>();
        foreach (uint tag in new uint[] { 0x5FC102, 0x5FC105, 0x5FFF10 })
        {
            objects[tag] = await tools.ReadObjectAsync(tag);
        }

        objects[0x5FC109] = await tools.ReadObjectAsync(0x5FC109, CardPin);
        string status = (await tools.YubicoAsync("-a", "status")).StdOut;
        string pkcs15 = (await tools.MustAsync("pkcs15-tool", "--reader", await tools.OpenScIndexAsync(), "-D")).StdOut;
        string pkcs11 = (await tools.Pkcs11Async("-O")).StdOut;
        return new Snapshot(objects, status, pkcs15, pkcs11);
    }

    /// <summary>
    /// The lines that describe content. The serial is each card's own and differs by design; pkcs15-tool numbers its
    /// "Data object" and "Profile object" headings with an in-memory handle that changes from run to run.
    /// </summary>
    private static string[] ContentLines(string text) =>
        [.. text.Split('\n')
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l.TrimEnd(), "^(Data|Profile|Secret Key|Private Key|Public Key|Certificate) object [0-9]+$", "$1 object"))
            .Where(l => l.Length > 0 && !l.Contains("Serial", StringComparison.OrdinalIgnoreCase))];

    [Fact]
    public async Task BackupReplaceRestore_OpenScAndYubicoPivToolReadIdenticalObjects()
    {
        using var slot = SlotLease.Acquire();
        using var tools = new PivTools(slot.Reader);
        Snapshot before;
        string backupId;
        using (var card = NewCard("original"))
        {
            using var live = new LinkedCard(slot, new PivApplet(card));
            await PopulateAsync(tools);
            before = await SnapshotAsync(tools);

            var backup = await CardKeep(
                new Dictionary<string, string?> { ["CARDKEEP_PIN"] = CardPin, ["CARDKEEP_VSC_PIN"] = "b4ckup-1", ["CARDKEEP_VSC_PUK"] = "b4ckuppk" },
                "card", "backup", "reader:" + slot.Reader, "--new-vsc", "--json");
            Assert.True(backup.ExitCode == 0, backup.ToString());
            var report = JsonDocument.Parse(backup.StdOut).RootElement;
            backupId = report.GetProperty("target").GetString()!["vsc:".Length..];
            Assert.Equal("VSC-" + card.Serial, backupId);
            var items = report.GetProperty("items").EnumerateArray().ToList();
            Assert.Contains(items, i => i.GetProperty("name").GetString() == "private key 9A" && !i.GetProperty("done").GetBoolean());
            Assert.Equal(4, items.Count(i => i.GetProperty("done").GetBoolean())); // CHUID, 9A certificate, printed information, URLs
        }

        using (var copy = VirtualSmartCard.Open(Path.Combine(_home, "vsc", backupId + ".vsc"), new VscOpenOptions { ReadOnly = true }))
        {
            Assert.Empty(copy.Keys); // the backup holds no private key
            Assert.Equal(VscRole.Backup, copy.Header.Role);
        }

        // The card is lost: a blank one takes its place in the reader.
        using var blank = NewCard("replacement");
        using var replacement = new LinkedCard(slot, new PivApplet(blank));
        var restore = await CardKeep(
            new Dictionary<string, string?> { ["CARDKEEP_PIN"] = "b4ckup-1", ["CARDKEEP_TO_PIN"] = CardPin, ["CARDKEEP_MGMT_KEY"] = "default" },
            "card", "restore", backupId, "reader:" + slot.Reader);
        Assert.True(restore.ExitCode == 0, restore.ToString());

        var after = await SnapshotAsync(tools);
        foreach (var (tag, bytes) in before.Objects)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after.Objects[tag]), $"object {tag:X} differs after restore");
        }

        Assert.Equal(ContentLines(before.Status), ContentLines(after.Status));
        Assert.Equal(ContentLines(before.Pkcs15), ContentLines(after.Pkcs15));
        Assert.Equal(ContentLines(before.Pkcs11), ContentLines(after.Pkcs11));
        Assert.Contains("Alice Example", after.Pkcs15, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Escrow_KeysFromVscOnCard_CardSignsAndVscAloneDecrypts()
    {
        using var slot = SlotLease.Acquire();
        using var tools = new PivTools(slot.Reader);
        var env = new Dictionary<string, string?> { ["CARDKEEP_PIN"] = "esc-pin1", ["CARDKEEP_PUK"] = "esc-puk1" };
        Assert.Equal(0, (await CardKeep(env, "vsc", "new", "--id", "escrow", "--role", "escrow")).ExitCode);
        var keygen9a = await CardKeep(env, "vsc", "keygen", "escrow", "--slot", "9a", "--alg", "p256", "--subject", "CN=Alice Auth");
        Assert.True(keygen9a.ExitCode == 0, keygen9a.ToString());
        Assert.Equal(0, (await CardKeep(env, "vsc", "keygen", "escrow", "--slot", "9d", "--alg", "rsa2048", "--subject", "CN=Alice Encryption")).ExitCode);

        byte[] secret = "the quarterly figures"u8.ToArray();
        await File.WriteAllBytesAsync(tools.PathOf("secret.bin"), secret);
        await File.WriteAllBytesAsync(tools.PathOf("data.txt"), "sign me"u8.ToArray());
        using (var card = NewCard("issued"))
        {
            using var live = new LinkedCard(slot, new PivApplet(card));
            var transfer = await CardKeep(env, "vsc", "transfer-keys", "escrow", "reader:" + slot.Reader);
            Assert.True(transfer.ExitCode == 0, transfer.ToString());
            Assert.Contains("imported 2 keys", transfer.StdOut, StringComparison.Ordinal);

            // The card signs with the escrowed 9A key; openssl verifies with the certificate on the card.
            await tools.YubicoAsync("-a", "read-certificate", "-s", "9a", "-o", tools.PathOf("cert9a.pem"));
            await tools.MustAsync("openssl", "x509", "-in", tools.PathOf("cert9a.pem"), "-pubkey", "-noout", "-out", tools.PathOf("pub9a.pem"));
            await tools.Pkcs11Async("--login", "--pin", CardPin, "--sign", "--id", "01", "-m", "ECDSA-SHA256", "--signature-format", "openssl",
                "-i", tools.PathOf("data.txt"), "-o", tools.PathOf("sig.der"));
            var verify = await tools.MustAsync("openssl", "dgst", "-sha256", "-verify", tools.PathOf("pub9a.pem"), "-signature", tools.PathOf("sig.der"), tools.PathOf("data.txt"));
            Assert.Contains("Verified OK", verify.StdOut, StringComparison.Ordinal);

            // Someone encrypts to the card's 9D certificate.
            await tools.YubicoAsync("-a", "read-certificate", "-s", "9d", "-o", tools.PathOf("cert9d.pem"));
            await tools.MustAsync("openssl", "pkeyutl", "-encrypt", "-certin", "-inkey", tools.PathOf("cert9d.pem"), "-in", tools.PathOf("secret.bin"), "-out", tools.PathOf("secret.enc"));
        }

        // The card is lost. The escrow VSC alone, inserted as a card, decrypts.
        slot.WaitEmpty(TimeSpan.FromSeconds(5));
        using var insert = LiveProcess.Start("dotnet", [CardKeepCli.DllPath, "vsc", "insert", "escrow", "--port", slot.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            new Dictionary<string, string?> { ["CARDKEEP_HOME"] = _home });
        slot.WaitPresent(TimeSpan.FromSeconds(20));
        await tools.Pkcs11Async("--login", "--pin", "esc-pin1", "--decrypt", "--id", "03", "-m", "RSA-PKCS", "-i", tools.PathOf("secret.enc"), "-o", tools.PathOf("secret.out"));
        Assert.Equal(secret, await File.ReadAllBytesAsync(tools.PathOf("secret.out")));
    }

    [Fact]
    public async Task Backup_ObjectTooBigForTarget_ClearErrorAndTargetUnchanged()
    {
        using var slot = SlotLease.Acquire();
        using var card = NewCard("full");
        using var live = new LinkedCard(slot, new PivApplet(card));
        using var tools = new PivTools(slot.Reader);
        await File.WriteAllTextAsync(tools.PathOf("urls.txt"), "https://before.example\n");
        await tools.YubicoAsync("-a", "write-object", "--id", "0x5fff10", "--format", "binary", "-i", tools.PathOf("urls.txt"));

        var env = new Dictionary<string, string?> { ["CARDKEEP_PIN"] = "src-pin1", ["CARDKEEP_PUK"] = "src-puk1" };
        Assert.Equal(0, (await CardKeep(env, "vsc", "new", "--id", "source")).ExitCode);
        Assert.Equal(0, (await CardKeep(env, "card", "put", "vsc:source", "url", "--text", "https://after.example")).ExitCode);
        await File.WriteAllBytesAsync(Path.Combine(_home, "big.bin"), new byte[4000]);
        Assert.Equal(0, (await CardKeep(env, "card", "put", "vsc:source", "notes", "--file", Path.Combine(_home, "big.bin"))).ExitCode);

        var paste = await CardKeep(new Dictionary<string, string?>(env) { ["CARDKEEP_TO_PIN"] = CardPin, ["CARDKEEP_MGMT_KEY"] = "default" },
            "card", "transfer", "vsc:source", "reader:" + slot.Reader, "url", "notes");
        Assert.Equal(1, paste.ExitCode);
        Assert.Contains("no room", paste.StdErr, StringComparison.Ordinal);
        Assert.Contains("the card holds what it held before", paste.StdErr, StringComparison.Ordinal);
        Assert.Equal("https://before.example\n"u8.ToArray(), await tools.ReadObjectAsync(0x5FFF10));
    }

    public void Dispose()
    {
        Directory.Delete(_cards, recursive: true);
        Directory.Delete(_home, recursive: true);
    }
}
