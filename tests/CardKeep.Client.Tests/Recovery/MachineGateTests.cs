using System.Security.Cryptography;
using System.Text;
using CardKeep.Client.Recovery;
using CardKeep.Protocol.Recovery;

namespace CardKeep.Client.Tests.Recovery;

/// <summary>
/// The gate's access-key and kit decisions on a local binding (no server URL: every server call is "unreachable", so the
/// gate rotates on its own and says so). The online path against a real server is in the interop tests.
/// </summary>
public sealed class MachineGateTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cardkeep-gate-").FullName;
    private readonly SettableClock _clock = new(new DateTimeOffset(2026, 1, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly MachineStore _store;
    private readonly string _accessKey;

    public MachineGateTests()
    {
        _store = new MachineStore(Path.Combine(_root, "machine"), MachineStoreOptions.ForCurrentUser());
        using var random = RandomNumberGenerator.Create();
        using var key = AccessKey.Generate(random);
        _accessKey = key.ToString();
        _store.Save(new MachineBinding
        {
            User = "alice",
            MachineId = "m1",
            Policy = new GatePolicy { FailureDelayMilliseconds = 0, LockAfterFailures = 3, LockoutSeconds = 60 },
        }.WithAccessKey(key, iterations: 100));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private MachineGate Gate() => new(_store, _clock);

    /// <summary>A new kit for the bound user and machine, its verifier saved (cancelling any older kit).</summary>
    private EmergencyKit InstallKit(byte[] passphrase)
    {
        var binding = _store.Load();
        var (kit, verifier) = EmergencyKit.Create(binding.User, binding.MachineId, passphrase, _clock.GetUtcNow(), iterations: 1000);
        _store.Update(b => b with { Kit = verifier });
        return kit;
    }

    [Fact]
    public async Task AccessKey_Right_AllowsRotatesAndTheUsedKeyNoLongerWorks()
    {
        var allowed = await Gate().WithAccessKeyAsync(_accessKey);
        Assert.True(allowed.Allowed, allowed.Message);
        Assert.Contains("get a new card", allowed.Message, StringComparison.Ordinal);
        Assert.Contains("no longer works", allowed.Message, StringComparison.Ordinal);
        Assert.Contains("No recovery server answered", allowed.Message, StringComparison.Ordinal);
        string newKey = allowed.NewAccessKey!;
        Assert.NotEqual(_accessKey, newKey);
        Assert.True(AccessKey.TryParse(newKey, out var parsed, out _));
        parsed!.Dispose();
        var state = _store.Load();
        Assert.True(state.State.CardLost);
        Assert.True(state.State.ServerRotationPending);
        Assert.Single(state.AccessKeys);
        Assert.Single(state.UsedAccessKeys);

        var reused = await Gate().WithAccessKeyAsync(_accessKey);
        Assert.False(reused.Allowed);
        Assert.Contains("already used", reused.Message, StringComparison.Ordinal);
        Assert.Null(reused.NewAccessKey);

        // Typed with spaces instead of dashes, the new key works (once).
        var next = await Gate().WithAccessKeyAsync(newKey.Replace('-', ' '));
        Assert.True(next.Allowed, next.Message);
        Assert.Equal(2, _store.Load().UsedAccessKeys.Count);
    }

    [Fact]
    public async Task AccessKey_WrongAndMistyped_CountTowardsALockoutThatRefusesEvenTheRightKeyUntilItEnds()
    {
        using var random = RandomNumberGenerator.Create();
        using var other = AccessKey.Generate(random);
        var wrong = await Gate().WithAccessKeyAsync(other.ToString());
        Assert.False(wrong.Allowed);
        Assert.Contains("1 of 3", wrong.Message, StringComparison.Ordinal);

        string mistyped = "111112" + _accessKey[6..];
        var typo = await Gate().WithAccessKeyAsync(mistyped);
        Assert.False(typo.Allowed);
        Assert.Contains("group 1 of the access key is wrong", typo.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(mistyped, typo.Message, StringComparison.Ordinal);

        var third = await Gate().WithAccessKeyAsync("not a key");
        Assert.True(third.LockedOut);
        Assert.Contains("locked for 60 s", third.Message, StringComparison.Ordinal);

        var during = await Gate().WithAccessKeyAsync(_accessKey);
        Assert.False(during.Allowed);
        Assert.True(during.LockedOut);
        Assert.Contains("locked until", during.Message, StringComparison.Ordinal);
        Assert.Single(_store.Load().AccessKeys);

        _clock.Advance(TimeSpan.FromSeconds(61));
        var after = await Gate().WithAccessKeyAsync(_accessKey);
        Assert.True(after.Allowed, after.Message);
        Assert.Equal(0, _store.Load().Throttle.Failures);
        Assert.Null(_store.Load().Throttle.LockedUntil);
    }

    [Fact]
    public async Task AccessKey_FailureWaitsThePolicyDelayTimesTheCount()
    {
        _store.Update(b => b with { Policy = b.Policy with { FailureDelayMilliseconds = 150 } });
        using var random = RandomNumberGenerator.Create();
        using var other = AccessKey.Generate(random);
        var gate = new MachineGate(_store);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await gate.WithAccessKeyAsync(other.ToString());
        await gate.WithAccessKeyAsync(other.ToString());
        Assert.True(clock.ElapsedMilliseconds >= 150 + 300, $"two failures took only {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Kit_RightPassphraseOpens_WrongOneCounts_AndANewerKitCancelsTheOlder()
    {
        var binding = _store.Load();
        byte[] passphrase = Encoding.UTF8.GetBytes("correct horse battery");
        var kit = InstallKit(passphrase);

        var wrong = await Gate().WithKitAsync(kit, Encoding.UTF8.GetBytes("wrong horse battery"));
        Assert.False(wrong.Allowed);
        Assert.Contains("passphrase is wrong", wrong.Message, StringComparison.Ordinal);
        Assert.Equal(1, _store.Load().Throttle.Failures);

        var opened = await Gate().WithKitAsync(EmergencyKit.Parse(kit.ToJson()), passphrase);
        Assert.True(opened.Allowed, opened.Message);
        Assert.Contains("get a new card", opened.Message, StringComparison.Ordinal);
        Assert.True(_store.Load().State.CardLost);
        Assert.Equal(0, _store.Load().Throttle.Failures);

        var newer = InstallKit(passphrase);
        var old = await Gate().WithKitAsync(kit, passphrase);
        Assert.False(old.Allowed);
        Assert.Contains("not the current kit", old.Message, StringComparison.Ordinal);
        Assert.True((await Gate().WithKitAsync(newer, passphrase)).Allowed);
    }

    [Fact]
    public async Task Kit_ForgedWithTheSameIdButAnotherSecret_IsRefused()
    {
        var binding = _store.Load();
        byte[] passphrase = Encoding.UTF8.GetBytes("correct horse battery");
        var kit = InstallKit(passphrase);
        // An attacker who saw the kit id makes a kit with that id and a passphrase of their own.
        var (forged, _) = EmergencyKit.Create(binding.User, binding.MachineId, "attacker passphrase"u8, _clock.GetUtcNow(), iterations: 1000);
        forged = forged with { KitId = kit.KitId };

        var outcome = await Gate().WithKitAsync(forged, Encoding.UTF8.GetBytes("attacker passphrase"));
        Assert.False(outcome.Allowed);
    }

    [Fact]
    public async Task DamagedStore_FailsClosedWithAnException()
    {
        byte[] bytes = File.ReadAllBytes(_store.BindingPath);
        bytes[^3] ^= 0x10;
        File.WriteAllBytes(_store.BindingPath, bytes);

        var e = await Assert.ThrowsAsync<MachineStoreException>(() => Gate().WithAccessKeyAsync(_accessKey));
        Assert.Equal(MachineStoreProblem.Damaged, e.Problem);
    }

    /// <summary>A clock the test moves by hand (timers still run on real time; the tests use no delay).</summary>
    private sealed class SettableClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
