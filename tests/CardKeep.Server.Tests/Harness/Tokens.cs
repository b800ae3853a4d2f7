using System.Security.Cryptography;
using System.Text;
using CardKeep.Client.Tokens;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Server.Tests.Harness;

/// <summary>Tokens for the tests: software token files and VSCs provisioned with the test issuer.</summary>
public sealed class Tokens : IDisposable
{
    public static readonly byte[] Pin = Encoding.UTF8.GetBytes("13572468");

    private readonly string _directory = System.IO.Directory.CreateTempSubdirectory("cardkeep-tokens-").FullName;
    private readonly List<IDisposable> _owned = [];

    public string Directory => _directory;

    public SoftwareToken Software(string name = "token")
    {
        var token = SoftwareToken.Create(Path.Combine(_directory, name + ".json"), new TokenIdentity(RandomNumberGenerator.GetBytes(16), TestPki.Issuer));
        _owned.Add(token);
        return token;
    }

    public (VscToken Token, VirtualSmartCard Card) Vsc(string id = "card")
    {
        var store = new VscStore(Path.Combine(_directory, "vsc"), new VscOpenOptions { AllowWeakKdfForTests = true });
        var card = store.Create(new VscCreateOptions { Id = id, Pin = Pin, Puk = Encoding.UTF8.GetBytes("87654321"), Iterations = 1000, AllowWeakKdfForTests = true });
        VscToken.Provision(card, TestPki.Issuer);
        var token = new VscToken(card, ownsCard: true);
        _owned.Add(token);
        return (token, card);
    }

    public void Dispose()
    {
        foreach (var o in _owned)
        {
            o.Dispose();
        }

        System.IO.Directory.Delete(_directory, true);
    }
}
