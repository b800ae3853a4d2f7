using System.Text;
using CardKeep.Client.Recovery;

namespace CardKeep.Client.Tests.Recovery;

public sealed class MachineStoreTests : IDisposable
{
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0700 = Mode0600 | UnixFileMode.UserExecute;
    private readonly string _root = Directory.CreateTempSubdirectory("cardkeep-machine-store-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Folder => Path.Combine(_root, "machine");

    private MachineStore NewStore(MachineStoreOptions? options = null) => new(Folder, options ?? MachineStoreOptions.ForCurrentUser());

    internal static MachineBinding SampleBinding() => new()
    {
        User = "alice",
        MachineId = "machine-1",
        MachineSerial = "PF2ABCDE",
        MachineSecret = Convert.ToBase64String(Encoding.UTF8.GetBytes("machine-secret-that-must-not-show")),
        ServerUrls = ["http://127.0.0.1:5080"],
        Card = RegisteredCard.From("12345678", [0x30, 0x01, 0x02], [0x30, 0x03, 0x04]),
        AccessKeys = ["pbkdf2-sha256$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="],
        Kit = new KitVerifier("kit-1", "aGFzaA==", DateTimeOffset.UnixEpoch),
    };

    [Fact]
    public void Save_ThenLoad_ReturnsTheBindingWithOwnerOnlyModes()
    {
        var store = NewStore();
        store.Save(SampleBinding());

        var loaded = store.Load();
        Assert.Equal("alice", loaded.User);
        Assert.Equal("12345678", loaded.Card!.Serial);
        Assert.Equal([0x30, 0x03, 0x04], loaded.Card.CardAuthenticationKeyBytes.ToArray());
        Assert.Equal(SampleBinding().AccessKeys, loaded.AccessKeys);
        Assert.Equal("kit-1", loaded.Kit!.KitId);
        Assert.Equal(Mode0700, File.GetUnixFileMode(Folder));
        Assert.Equal(Mode0600, File.GetUnixFileMode(store.BindingPath));
        Assert.Equal(Mode0600, File.GetUnixFileMode(store.KeyPath));
    }

    [Fact]
    public void SavedFile_IsEncrypted_NoSecretOrNameInTheClear()
    {
        var store = NewStore();
        store.Save(SampleBinding());

        string raw = Encoding.Latin1.GetString(File.ReadAllBytes(store.BindingPath));
        Assert.StartsWith("CKMB", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("alice", raw, StringComparison.Ordinal);
        Assert.DoesNotContain(SampleBinding().MachineSecret, raw, StringComparison.Ordinal);
        Assert.DoesNotContain("pbkdf2", raw, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NoFolder_IsMissing()
    {
        var e = Assert.Throws<MachineStoreException>(() => NewStore().Load());
        Assert.Equal(MachineStoreProblem.Missing, e.Problem);
        Assert.Contains("cardkeep account register", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(30)]
    [InlineData(-1)]
    public void Load_OneByteChanged_IsDamaged(int offset)
    {
        var store = NewStore();
        store.Save(SampleBinding());
        byte[] bytes = File.ReadAllBytes(store.BindingPath);
        int at = offset < 0 ? bytes.Length - 1 : offset;
        bytes[at] ^= 0x01;
        File.WriteAllBytes(store.BindingPath, bytes);

        var e = Assert.Throws<MachineStoreException>(store.Load);
        Assert.Equal(MachineStoreProblem.Damaged, e.Problem);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(40)]
    public void Load_Truncated_IsDamaged(int keep)
    {
        var store = NewStore();
        store.Save(SampleBinding());
        byte[] bytes = File.ReadAllBytes(store.BindingPath);
        File.WriteAllBytes(store.BindingPath, bytes.AsSpan(0, Math.Min(keep, bytes.Length - 1)).ToArray());

        var e = Assert.Throws<MachineStoreException>(store.Load);
        Assert.Equal(MachineStoreProblem.Damaged, e.Problem);
    }

    [Fact]
    public void Load_KeyMissingOrReplaced_IsDamaged_AndSaveDoesNotMakeANewKey()
    {
        var store = NewStore();
        store.Save(SampleBinding());
        byte[] key = File.ReadAllBytes(store.KeyPath);

        File.Delete(store.KeyPath);
        Assert.Equal(MachineStoreProblem.Damaged, Assert.Throws<MachineStoreException>(store.Load).Problem);
        Assert.Equal(MachineStoreProblem.Damaged, Assert.Throws<MachineStoreException>(() => store.Save(SampleBinding())).Problem);

        key[0] ^= 0xFF;
        File.WriteAllBytes(store.KeyPath, key);
        File.SetUnixFileMode(store.KeyPath, Mode0600);
        var e = Assert.Throws<MachineStoreException>(store.Load);
        Assert.Equal(MachineStoreProblem.Damaged, e.Problem);
        Assert.Contains("integrity", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BindingFromAnotherStore_IsDamaged()
    {
        var store = NewStore();
        store.Save(SampleBinding());
        var other = new MachineStore(Path.Combine(_root, "other"), MachineStoreOptions.ForCurrentUser());
        other.Save(SampleBinding() with { User = "mallory" });

        File.Copy(other.BindingPath, store.BindingPath, overwrite: true);
        File.SetUnixFileMode(store.BindingPath, Mode0600);
        Assert.Equal(MachineStoreProblem.Damaged, Assert.Throws<MachineStoreException>(store.Load).Problem);
    }

    [Theory]
    [InlineData("verifier")]
    [InlineData("card")]
    [InlineData("user")]
    [InlineData("url")]
    [InlineData("policy")]
    public void Load_SealedButMalformedFields_IsDamagedNotACrashLater(string field)
    {
        var store = NewStore();
        var good = SampleBinding();
        store.Save(field switch
        {
            "verifier" => good with { UsedAccessKeys = ["pbkdf2-sha256$x"] },
            "card" => good with { Card = good.Card! with { AuthenticationKey = "not base64!" } },
            "user" => good with { User = "" },
            "url" => good with { ServerUrls = ["not a url"] },
            _ => good with { Policy = new GatePolicy { LockAfterFailures = 0 } },
        });

        var e = Assert.Throws<MachineStoreException>(store.Load);
        Assert.Equal(MachineStoreProblem.Damaged, e.Problem);
        Assert.Contains("decrypts but holds", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("folder", UnixFileMode.GroupRead)]
    [InlineData("folder", UnixFileMode.OtherExecute)]
    [InlineData("binding", UnixFileMode.OtherRead)]
    [InlineData("binding", UnixFileMode.GroupWrite)]
    [InlineData("key", UnixFileMode.GroupRead)]
    public void Load_GroupOrWorldAccess_IsRefusedAsUnsafe(string which, UnixFileMode extra)
    {
        var store = NewStore();
        store.Save(SampleBinding());
        string path = which switch { "folder" => Folder, "binding" => store.BindingPath, _ => store.KeyPath };
        File.SetUnixFileMode(path, File.GetUnixFileMode(path) | extra);

        var e = Assert.Throws<MachineStoreException>(store.Load);
        Assert.Equal(MachineStoreProblem.Unsafe, e.Problem);
        Assert.Contains("others may read or change it", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OwnedByAnotherUid_IsRefusedAsUnsafe()
    {
        NewStore().Save(SampleBinding());
        uint self = MachineStoreOptions.ForCurrentUser().RequiredOwner;
        var strict = NewStore(new MachineStoreOptions { RequiredOwner = self + 1 });

        var e = Assert.Throws<MachineStoreException>(strict.Load);
        Assert.Equal(MachineStoreProblem.Unsafe, e.Problem);
        Assert.Contains("owned by uid", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FileReplacedBySymlink_IsRefusedAsUnsafe()
    {
        var store = NewStore();
        store.Save(SampleBinding());
        string elsewhere = Path.Combine(_root, "elsewhere.ck");
        File.Move(store.BindingPath, elsewhere);
        File.CreateSymbolicLink(store.BindingPath, elsewhere);

        var e = Assert.Throws<MachineStoreException>(store.Load);
        Assert.Equal(MachineStoreProblem.Unsafe, e.Problem);
        Assert.Contains("not a plain file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_InterruptedBeforeRename_LeavesTheOldBindingWhole()
    {
        NewStore().Save(SampleBinding());
        string? seenDuringSave = null;
        var crashing = NewStore(MachineStoreOptions.ForCurrentUser() with
        {
            BeforeRename = temp =>
            {
                // The new content is on disk in the temporary file; the store still reads the old binding.
                Assert.True(File.Exists(temp));
                seenDuringSave = NewStore().Load().User;
                throw new IOException("simulated power cut");
            },
        });

        Assert.Throws<IOException>(() => crashing.Save(SampleBinding() with { User = "bob" }));

        Assert.Equal("alice", seenDuringSave);
        Assert.Equal("alice", NewStore().Load().User);
        Assert.Equal(["binding.ck", "binding.key"], Directory.GetFiles(Folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Update_FromParallelThreads_LosesNoChange()
    {
        var store = NewStore();
        store.Save(SampleBinding());

        Parallel.For(0, 4, _ =>
        {
            for (int i = 0; i < 10; i++)
            {
                store.Update(b => b with { Throttle = b.Throttle with { Failures = b.Throttle.Failures + 1 } });
            }
        });

        Assert.Equal(40, store.Load().Throttle.Failures);
    }

    [Fact]
    public void DefaultDirectory_FlagThenEnvironmentThenSystemFolder()
    {
        Assert.Equal("/x", MachineStore.DefaultDirectory("/x"));
        string? environment = Environment.GetEnvironmentVariable(MachineStore.DirectoryVariable);
        Assert.Equal(environment is { Length: > 0 } ? environment : MachineStore.SystemDirectory, MachineStore.DefaultDirectory());
    }
}
