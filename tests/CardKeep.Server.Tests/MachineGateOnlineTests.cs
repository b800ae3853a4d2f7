using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CardKeep.Client.Recovery;
using CardKeep.Protocol.Recovery;
using CardKeep.Server.Tests.Harness;

namespace CardKeep.Server.Tests;

/// <summary>
/// The machine gate's online path (<see cref="MachineGate"/> with <see cref="MachineServerClient"/>) against the real
/// server over HTTP on 127.0.0.1 (SQLite): a key issued by a recovery from another computer opens this one, is rotated
/// on the server, and neither the used key nor the key the recovery cancelled opens it again.
/// </summary>
public sealed class MachineGateOnlineTests : IAsyncLifetime, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("cardkeep-gate-online-").FullName;
    private readonly TestCard _card = new("5150");
    private readonly byte[] _machineSecret = AccountApi.NewMachineSecret();
    private TestServer? _server;
    private MachineStore? _store;
    private string _registeredKey = "";

    private AccountApi Api => new(_server!);

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(null, s =>
        {
            s["Accounts:PasswordIterations"] = "1000";
            s["Accounts:AccessKeyIterations"] = "100";
        });
        _registeredKey = (await Api.RegisterAsync("erin", _card, "laptop", _machineSecret)).GetProperty("accessKey").GetString()!;
        _store = new MachineStore(Path.Combine(_folder, "my-computer"), MachineStoreOptions.ForCurrentUser());
        Assert.True(AccessKey.TryParse(_registeredKey, out var key, out _));
        using (key)
        {
            _store.Save(new MachineBinding
            {
                User = "erin",
                MachineId = "laptop",
                MachineSecret = Convert.ToBase64String(_machineSecret),
                ServerUrls = [_server.Url.ToString()],
                Policy = new GatePolicy { FailureDelayMilliseconds = 0 },
            }.WithAccessKey(key!, iterations: 100));
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _card.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task RecoveredKey_OpensThisComputerOnline_IsRotatedOnTheServer_AndNeitherOldKeyWorksAgain()
    {
        // "Another computer": recovery with the password issues a new key for this machine and cancels the registered one.
        var recovered = await Api.OkAsync(HttpMethod.Post, "recover", new { username = "erin", password = AccountApi.Password, machineId = "laptop" });
        string recoveredKey = recovered.GetProperty("accessKey").GetString()!;

        var gate = new MachineGate(_store!);
        var stale = await gate.WithAccessKeyAsync(_registeredKey);
        Assert.False(stale.Allowed);
        Assert.Contains("cancelled on the recovery server", stale.Message, StringComparison.Ordinal);
        Assert.Empty(_store!.Load().AccessKeys);

        var opened = await gate.WithAccessKeyAsync(recoveredKey);
        Assert.True(opened.Allowed, opened.Message);
        Assert.Contains("checked by the recovery server", opened.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("No recovery server answered", opened.Message, StringComparison.Ordinal);
        string rotated = opened.NewAccessKey!;
        Assert.False(_store.Load().State.ServerRotationPending);

        // The server issued the new key: it verifies there, the used one does not (rotation ends its grace time).
        Assert.True(await Api.ValidAsync("erin", "laptop", _machineSecret, rotated));
        Assert.False(await Api.ValidAsync("erin", "laptop", _machineSecret, recoveredKey));
        var reused = await gate.WithAccessKeyAsync(recoveredKey);
        Assert.False(reused.Allowed);
        Assert.Contains("already used", reused.Message, StringComparison.Ordinal);

        // The rotated key is known locally too, and works once more (rotating again).
        var next = await gate.WithAccessKeyAsync(rotated);
        Assert.True(next.Allowed, next.Message);
        Assert.True(await Api.ValidAsync("erin", "laptop", _machineSecret, next.NewAccessKey!));
    }

    [Fact]
    public async Task ServerDown_LocalKeyStillOpens_TheRotationIsOwed_AndPaidWhenTheServerIsBack()
    {
        int closedPort;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        _store!.Update(b => b with { ServerUrls = [$"http://127.0.0.1:{closedPort}"] });
        var opened = await new MachineGate(_store).WithAccessKeyAsync(_registeredKey);
        Assert.True(opened.Allowed, opened.Message);
        Assert.Contains("no recovery server answered", opened.Message, StringComparison.Ordinal);
        Assert.True(_store.Load().State.ServerRotationPending);

        // A key this computer never saw is not accepted while the server cannot be asked.
        using var random = RandomNumberGenerator.Create();
        using var unknown = AccessKey.Generate(random);
        var refused = await new MachineGate(_store).WithAccessKeyAsync(unknown.ToString());
        Assert.False(refused.Allowed);
        Assert.Contains("no recovery server could be asked", refused.Message, StringComparison.Ordinal);

        // The server is back: the key this computer made opens it, and the owed rotation happens on the server.
        _store.Update(b => b with { ServerUrls = [_server!.Url.ToString()] });
        var back = await new MachineGate(_store).WithAccessKeyAsync(opened.NewAccessKey!);
        Assert.True(back.Allowed, back.Message);
        Assert.Contains("made here while no recovery server answered", back.Message, StringComparison.Ordinal);
        Assert.False(_store.Load().State.ServerRotationPending);
        Assert.True(await Api.ValidAsync("erin", "laptop", _machineSecret, back.NewAccessKey!));
        Assert.False(await Api.ValidAsync("erin", "laptop", _machineSecret, _registeredKey));
    }

    [Fact]
    public async Task CardStatus_TellsTheMachineWhenItsCardWasRevokedElsewhere_AndNothingAboutOthersCards()
    {
        var binding = _store!.Load();
        using (var client = new MachineServerClient(binding))
        {
            Assert.Equal("active", await client.CardStatusAsync(_card.Serial));

            // Another user's card is "unknown" to erin's machine, as is a serial nobody has.
            using var other = new TestCard("6160");
            await Api.RegisterAsync("frank", other, "desk", AccountApi.NewMachineSecret());
            Assert.Equal("unknown", await client.CardStatusAsync(other.Serial));
            Assert.Equal("unknown", await client.CardStatusAsync("999999"));

            // Reported lost from another computer (password sign-in): the gate's question now says so.
            string bearer = await Api.PasswordTokenAsync("erin");
            await Api.OkAsync(HttpMethod.Post, $"cards/{_card.Serial}/revoke", null, bearer);
            Assert.Equal("revoked", await client.CardStatusAsync(_card.Serial));
        }

        // A wrong machine secret is refused, not answered.
        using var forged = new MachineServerClient(binding with { MachineSecret = Convert.ToBase64String(AccountApi.NewMachineSecret()) });
        var refused = await Assert.ThrowsAsync<MachineServerException>(() => forged.CardStatusAsync(_card.Serial));
        Assert.False(refused.Unreachable);
    }
}
