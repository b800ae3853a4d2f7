using System.Globalization;
using System.Text.RegularExpressions;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>
/// A new virtual smart card (weak test KDF) in a temp folder, its <see cref="PivApplet"/> inserted into a leased vpcd
/// slot of the private pcscd, and the environment the client tools run in: HOME in the temp folder and an OPENSC_CONF
/// that turns file caching off, ignores every other slot's reader (other tests use them at the same time) and lets
/// PKCS#11 see all six readers. Dispose ejects the card and deletes the folder.
/// </summary>
public sealed partial class VirtualCardOnReader : IDisposable
{
    public const string Pkcs11Module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

    /// <summary>The factory management key as yubico-piv-tool takes it.</summary>
    public const string DefaultManagementKey = "010203040506070801020304050607080102030405060708";

    private static readonly VscOpenOptions _openOptions = new() { AllowWeakKdfForTests = true };
    private readonly SlotLease _slot;
    private LinkedCard? _linked;

    public VirtualCardOnReader()
    {
        _slot = SlotLease.Acquire();
        try
        {
            Directory = System.IO.Directory.CreateTempSubdirectory("cardkeep-vsc-interop-").FullName;
            UnixModes.Set(Directory, UnixModes.Executable);
            System.IO.Directory.CreateDirectory(Path.Combine(Directory, "home"));
            CardPath = Path.Combine(Directory, "card.vsc");
            Card = VirtualSmartCard.Create(CardPath, new VscCreateOptions { Label = "interop", Iterations = 1000, AllowWeakKdfForTests = true });
            WriteOpenScConfiguration();
            Insert();
        }
        catch
        {
            _slot.Dispose();
            throw;
        }
    }

    /// <summary>The exact PC/SC name of the reader the card is in, e.g. "Virtual PCD 2 00 01".</summary>
    public string Reader => _slot.Reader;

    /// <summary>The temp folder: card file, OpenSC configuration, HOME, tool inputs and outputs.</summary>
    public string Directory { get; }

    public string CardPath { get; }

    public VirtualSmartCard Card { get; private set; }

    public PivApplet? Applet { get; private set; }

    /// <summary>Every command the applet answered (header and status word), across re-insertions.</summary>
    public ApduTrace Trace { get; } = new();

    /// <summary>HOME and OPENSC_CONF for the client tools.</summary>
    public IDictionary<string, string?> Environment => new Dictionary<string, string?>
    {
        ["HOME"] = Path.Combine(Directory, "home"),
        ["OPENSC_CONF"] = Path.Combine(Directory, "opensc.conf"),
    };

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>Runs a tool in <see cref="Directory"/> with <see cref="Environment"/> (plus <paramref name="extra"/>).</summary>
    public Task<ProcessResult> RunAsync(string tool, IEnumerable<string> args, IDictionary<string, string?>? extra = null, TimeSpan? timeout = null)
    {
        var environment = Environment;
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return ProcessRunner.RunAsync(tool, args, environment, timeout: timeout ?? TimeSpan.FromSeconds(120), workingDirectory: Directory);
    }

    /// <summary><see cref="RunAsync"/> and assert exit code 0 (the message shows the whole output).</summary>
    public async Task<ProcessResult> RunOkAsync(string tool, params string[] args)
    {
        var result = await RunAsync(tool, args);
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', args)}\n{result}");
        return result;
    }

    /// <summary>yubico-piv-tool on this card's reader (its -r is a case-insensitive substring match; our names are unique).</summary>
    public Task<ProcessResult> PivToolAsync(params string[] args) => RunAsync("yubico-piv-tool", ["-r", Reader, .. args]);

    /// <summary><see cref="PivToolAsync"/> and assert exit code 0.</summary>
    public Task<ProcessResult> PivToolOkAsync(params string[] args) => RunOkAsync("yubico-piv-tool", ["-r", Reader, .. args]);

    /// <summary>The index OpenSC gives our reader, read from <c>opensc-tool -l</c>.</summary>
    public async Task<string> OpenScReaderIndexAsync()
    {
        var list = await RunOkAsync("opensc-tool", "-l");
        foreach (string line in list.StdOut.Split('\n'))
        {
            var match = ReaderLine().Match(line);
            if (match.Success && match.Groups["name"].Value.Trim() == Reader)
            {
                return match.Groups["index"].Value;
            }
        }

        throw new InvalidOperationException($"opensc-tool -l does not list '{Reader}':\n{list}");
    }

    /// <summary><c>pkcs15-tool --reader N -D</c> with N our reader's index from <c>opensc-tool -l</c>; the dump (asserted exit 0).</summary>
    public async Task<string> Pkcs15DumpAsync() => (await RunOkAsync("pkcs15-tool", "--reader", await OpenScReaderIndexAsync(), "-D")).StdOut;

    /// <summary>The PKCS#11 slot ID (e.g. "0x4") OpenSC gives the token in our reader, read from <c>pkcs11-tool -L</c>.</summary>
    public async Task<string> Pkcs11SlotAsync()
    {
        var list = await RunOkAsync("pkcs11-tool", "--module", Pkcs11Module, "-L");
        foreach (string line in list.StdOut.Split('\n'))
        {
            var match = SlotLine().Match(line);
            if (match.Success && match.Groups["name"].Value.Trim() == Reader)
            {
                return match.Groups["id"].Value;
            }
        }

        throw new InvalidOperationException($"pkcs11-tool -L has no slot for '{Reader}':\n{list}");
    }

    /// <summary>pkcs11-tool with the OpenSC module and our token's slot.</summary>
    public async Task<ProcessResult> Pkcs11ToolAsync(params string[] args) =>
        await RunAsync("pkcs11-tool", ["--module", Pkcs11Module, "--slot", await Pkcs11SlotAsync(), .. args]);

    /// <summary>
    /// yubico-piv-tool generate in <paramref name="slot"/>, a certificate for that public key issued by a throwaway CA
    /// (openssl x509 -new -force_pubkey, as selfsign-certificate fails with OpenSSL 3), and import-certificate.
    /// Returns the certificate's PEM file name.
    /// </summary>
    public async Task<string> GenerateWithCertificateAsync(string slot, string algorithm, string commonName)
    {
        await EnsureCaAsync();
        string publicKey = $"pub{slot}.pem", certificate = $"cert{slot}.pem";
        var generated = await PivToolOkAsync("-a", "generate", "-s", slot, "-A", algorithm, "-o", publicKey);
        Assert.Contains("Successfully generated a new private key.", generated.StdErr, StringComparison.Ordinal);
        await RunOkAsync("openssl", "x509", "-new", "-subj", "/CN=" + commonName, "-CA", "ca.crt", "-CAkey", "ca.key",
            "-force_pubkey", publicKey, "-days", "30", "-out", certificate);
        var imported = await PivToolOkAsync("-a", "import-certificate", "-s", slot, "-i", certificate);
        Assert.Contains("Successfully imported a new certificate.", imported.StdErr, StringComparison.Ordinal);
        return certificate;
    }

    /// <summary>
    /// A key made by openssl (<paramref name="opensslKeyArgs"/>, e.g. "-newkey ec -pkeyopt ec_paramgen_curve:P-256") with a
    /// self-signed certificate, imported with yubico-piv-tool import-key and import-certificate. Returns (key, cert) file names.
    /// </summary>
    public async Task<(string Key, string Certificate)> ImportWithCertificateAsync(string slot, string commonName, string pinPolicy, params string[] opensslKeyArgs)
    {
        string key = $"key{slot}.pem", certificate = $"cert{slot}.pem";
        await RunOkAsync("openssl", ["req", "-x509", .. opensslKeyArgs, "-nodes", "-keyout", key, "-out", certificate, "-subj", "/CN=" + commonName, "-days", "30"]);
        var imported = await PivToolOkAsync("-a", "import-key", "-s", slot, "-i", key, "--pin-policy=" + pinPolicy, "--touch-policy=never");
        Assert.Contains("Successfully imported a new private key.", imported.StdErr, StringComparison.Ordinal);
        await PivToolOkAsync("-a", "import-certificate", "-s", slot, "-i", certificate);
        return (key, certificate);
    }

    /// <summary>Removes the card from the reader (the applet's session ends; the card object stays open).</summary>
    public void Eject()
    {
        _linked?.Dispose();
        _linked = null;
        Applet = null;
    }

    /// <summary>
    /// Ejects, closes the card object, opens the file again in a NEW <see cref="VirtualSmartCard"/> and inserts a new
    /// applet for it: only what the file holds survives.
    /// </summary>
    public void ReopenAndInsert()
    {
        Eject();
        Card.Dispose();
        Card = VirtualSmartCard.Open(CardPath, _openOptions);
        Insert();
    }

    /// <summary>A second, read-only view of the card file as it is on disk now (as another process would see it).</summary>
    public VirtualSmartCard OpenFileAgain() => VirtualSmartCard.Open(CardPath, _openOptions with { ReadOnly = true });

    public void Dispose()
    {
        Eject();
        Card.Dispose();
        _slot.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private void Insert()
    {
        Applet = new PivApplet(Card, Trace);
        _linked = new LinkedCard(_slot, Applet);
    }

    private async Task EnsureCaAsync()
    {
        if (!File.Exists(PathOf("ca.key")))
        {
            await RunOkAsync("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=CardKeep interop CA", "-days", "30");
        }
    }

    private void WriteOpenScConfiguration()
    {
        var others = Enumerable.Range(0, PrivatePcscd.SlotCount).Select(PrivatePcscd.ReaderName).Where(name => name != Reader)
            .Select(name => $"\"{name}\"");
        string configuration = string.Create(CultureInfo.InvariantCulture, $$"""
            app default {
                ignored_readers = {{string.Join(", ", others)}};
                framework pkcs15 {
                    use_file_caching = no;
                }
            }
            app opensc-pkcs11 {
                pkcs11 {
                    max_virtual_slots = 64;
                }
            }

            """);
        File.WriteAllText(PathOf("opensc.conf"), configuration);
    }

    [GeneratedRegex(@"^(?<index>\d+)\s+(Yes|No)\s+(?<name>.*)$")]
    private static partial Regex ReaderLine();

    [GeneratedRegex(@"^Slot \d+ \((?<id>0x[0-9a-fA-F]+)\): (?<name>.*)$")]
    private static partial Regex SlotLine();
}
