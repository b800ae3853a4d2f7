using System.Globalization;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>
/// OpenSC, yubico-piv-tool and openssl run as a user would run them, against one reader. Each instance has its own
/// HOME and OPENSC_CONF (file caching off), so no cached card data crosses tests.
/// </summary>
public sealed class PivTools : IDisposable
{
    public const string Pkcs11Module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
    private readonly string _home = System.IO.Directory.CreateTempSubdirectory("cardkeep-tools-").FullName;

    public PivTools(string reader)
    {
        Reader = reader;
        File.WriteAllText(Path.Combine(_home, "opensc.conf"), "app default {\n  framework pkcs15 {\n    use_file_caching = no;\n  }\n}\n");
    }

    public string Reader { get; }

    public string Directory => _home;

    public string PathOf(string name) => Path.Combine(_home, name);

    private Dictionary<string, string?> Environment() => new()
    {
        ["HOME"] = _home,
        ["OPENSC_CONF"] = Path.Combine(_home, "opensc.conf"),
    };

    public async Task<ProcessResult> RunAsync(string tool, params string[] args) =>
        await ProcessRunner.RunAsync(tool, args, Environment(), timeout: TimeSpan.FromSeconds(90), workingDirectory: _home);

    /// <summary>Runs and requires exit code 0.</summary>
    public async Task<ProcessResult> MustAsync(string tool, params string[] args)
    {
        var result = await RunAsync(tool, args);
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', args)}\n{result}");
        return result;
    }

    public Task<ProcessResult> YubicoAsync(params string[] args) => MustAsync("yubico-piv-tool", ["-r", Reader, .. args]);

    /// <summary>OpenSC's reader index of this reader (as opensc-tool -l numbers them).</summary>
    public async Task<string> OpenScIndexAsync()
    {
        var list = await MustAsync("opensc-tool", "-l");
        foreach (string line in list.StdOut.Split('\n'))
        {
            if (line.TrimEnd().EndsWith(Reader, StringComparison.Ordinal) && line.Length > 0 && char.IsDigit(line[0]))
            {
                return line.Split(' ', 2)[0];
            }
        }

        throw new InvalidOperationException($"opensc-tool -l does not list '{Reader}':\n{list.StdOut}");
    }

    /// <summary>The PKCS#11 slot id (as pkcs11-tool -L prints it) of this reader's token.</summary>
    public async Task<string> Pkcs11SlotAsync()
    {
        var list = await MustAsync("pkcs11-tool", "--module", Pkcs11Module, "-L");
        foreach (string line in list.StdOut.Split('\n'))
        {
            if (line.StartsWith("Slot ", StringComparison.Ordinal) && line.TrimEnd().EndsWith(Reader, StringComparison.Ordinal))
            {
                int open = line.IndexOf("(0x", StringComparison.Ordinal);
                return line[(open + 1)..line.IndexOf(')', open)];
            }
        }

        throw new InvalidOperationException($"pkcs11-tool -L does not list '{Reader}':\n{list.StdOut}");
    }

    public async Task<ProcessResult> Pkcs11Async(params string[] args) =>
        await MustAsync("pkcs11-tool", ["--module", Pkcs11Module, "--slot", await Pkcs11SlotAsync(), .. args]);

    /// <summary>Reads a PIV object's raw content with yubico-piv-tool (after VERIFY when a PIN is given).</summary>
    public async Task<byte[]> ReadObjectAsync(uint tag, string? pin = null)
    {
        string output = PathOf($"object-{tag:X}-{Guid.NewGuid():N}.bin");
        string[] verify = pin is null ? [] : ["-a", "verify-pin", "-P", pin];
        await YubicoAsync([.. verify, "-a", "read-object", "--id", "0x" + tag.ToString("x", CultureInfo.InvariantCulture), "--format", "binary", "-o", output]);
        return await File.ReadAllBytesAsync(output);
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
            // A tool still holds a file; the temp folder is cleaned with the machine.
        }
    }
}
