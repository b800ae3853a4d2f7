using CardKeep.Interop.Tests.Harness;

namespace CardKeep.Interop.Tests.VirtualCard;

/// <summary>ssh logs in with the virtual card's PIV authentication key through OpenSC's PKCS#11 module (ssh -I).</summary>
public sealed class VscSshTests : IDisposable
{
    private readonly VirtualCardOnReader _vsc = new();

    public void Dispose() => _vsc.Dispose();

    [Fact]
    public async Task Ssh_PivAuthenticationKeyViaPkcs11_LogsInToThrowawaySshd()
    {
        await _vsc.GenerateWithCertificateAsync("9a", "ECCP256", "ssh user");
        var keys = await _vsc.RunOkAsync("ssh-keygen", "-D", VirtualCardOnReader.Pkcs11Module);
        string authKey = keys.StdOut.Split('\n').Single(l => l.EndsWith("PIV AUTH pubkey", StringComparison.Ordinal));
        await File.WriteAllTextAsync(_vsc.PathOf("id_piv.pub"), authKey + "\n");
        string askpass = _vsc.PathOf("askpass.sh");
        await File.WriteAllTextAsync(askpass, "#!/bin/sh\necho 123456\n");
        UnixModes.Set(askpass, UnixModes.Executable);
        using var sshd = await ThrowawaySshd.StartAsync(authKey + "\n");

        var login = await _vsc.RunAsync("ssh",
        [
            "-F", "/dev/null", "-o", "UserKnownHostsFile=" + _vsc.PathOf("known_hosts"), "-o", "StrictHostKeyChecking=accept-new",
            "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20", "-i", _vsc.PathOf("id_piv.pub"), "-I", VirtualCardOnReader.Pkcs11Module,
            "-p", sshd.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{ThrowawaySshd.User}@127.0.0.1", "echo LOGIN-OK",
        ],
        new Dictionary<string, string?> { ["SSH_ASKPASS"] = askpass, ["SSH_ASKPASS_REQUIRE"] = "force", ["DISPLAY"] = ":0" });

        Assert.True(login.ExitCode == 0, login + "\n--- sshd\n" + sshd.Log);
        Assert.Equal("LOGIN-OK", login.StdOut.Trim());
        Assert.Contains($"Accepted publickey for {ThrowawaySshd.User} from 127.0.0.1", sshd.Log, StringComparison.Ordinal);
    }
}
