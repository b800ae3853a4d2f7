using System.Diagnostics;
using System.Globalization;
using CardKeep.VirtualCard.Store;
using static CardKeep.VirtualCard.Tests.Store.TestCards;

namespace CardKeep.VirtualCard.Tests.Store;

public sealed class VscStoreTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly VscStore _store;

    public VscStoreTests() => _store = new VscStore(Path.Combine(_dir.Path, "vsc"), Weak);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void DefaultDirectory_Precedence_CardkeepHomeThenXdgThenHome()
    {
        var env = new Dictionary<string, string?>();
        string? Lookup(string name) => env.GetValueOrDefault(name);

        Assert.Equal("/home/u/.local/share/cardkeep/vsc", VscStore.DefaultDirectory(Lookup, "/home/u"));
        env["XDG_DATA_HOME"] = "relative/ignored";
        Assert.Equal("/home/u/.local/share/cardkeep/vsc", VscStore.DefaultDirectory(Lookup, "/home/u"));
        env["XDG_DATA_HOME"] = "/data";
        Assert.Equal("/data/cardkeep/vsc", VscStore.DefaultDirectory(Lookup, "/home/u"));
        env["CARDKEEP_HOME"] = "/ck";
        Assert.Equal("/ck/vsc", VscStore.DefaultDirectory(Lookup, "/home/u"));
        Assert.False(string.IsNullOrEmpty(VscStore.DefaultDirectory()));
    }

    [Fact]
    public void Create_NoId_IdIsVscSerialAndFolderIsPrivate()
    {
        using var card = _store.Create(Options(null));

        Assert.Equal($"VSC-{card.Serial}", card.Header.Id);
        Assert.Equal(_store.PathFor(card.Header.Id), card.Path);
        Assert.Matches("^VSC-20[0-9]{8}$", card.Header.Id);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, ModeOf(_store.DirectoryPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, ModeOf(card.Path));
    }

    [Fact]
    public void Create_DuplicateId_Refused()
    {
        using (_store.Create(Options("dup")))
        {
        }

        var ex = Assert.Throws<VscException>(() => _store.Create(Options("dup")));
        Assert.Contains("already exists", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void List_GoodAndDamagedFiles_DamagedListedWithReason()
    {
        using (_store.Create(Options("alpha") with { Label = "Alpha", Role = VscRole.Backup, Parent = "card:1" }))
        {
        }

        using (_store.Create(Options("beta") with { Label = "Beta" }))
        {
        }

        File.WriteAllText(Path.Combine(_store.DirectoryPath, "junk.vsc"), "not a card");
        var beta = File.ReadAllBytes(_store.PathFor("beta"));
        File.WriteAllBytes(Path.Combine(_store.DirectoryPath, "cut.vsc"), beta[..(beta.Length / 2)]);
        File.WriteAllBytes(Path.Combine(_store.DirectoryPath, "renamed.vsc"), beta);
        File.WriteAllText(Path.Combine(_store.DirectoryPath, "notes.txt"), "ignored");

        var list = _store.List();

        Assert.Equal(["alpha", "beta", "cut", "junk", "renamed"], list.Select(l => l.Id));
        var alpha = list[0];
        Assert.Equal(("Alpha", VscState.Enabled, VscRole.Backup, "card:1"), (alpha.Label, alpha.State, alpha.Role, alpha.Parent));
        Assert.False(alpha.IsDamaged);
        Assert.True(VscSerial.IsVirtual(alpha.Serial!.Value));
        Assert.StartsWith("truncated at byte", list[2].Damage, StringComparison.Ordinal);
        Assert.StartsWith("not a VSC file", list[3].Damage, StringComparison.Ordinal);
        Assert.Contains("does not match the card Id inside it ('beta')", list[4].Damage, StringComparison.Ordinal);
        Assert.All(list.Skip(2), l => Assert.Null(l.Serial));
    }

    [Fact]
    public void List_MissingFolder_Empty()
    {
        Assert.Empty(new VscStore(Path.Combine(_dir.Path, "nowhere")).List());
    }

    [Fact]
    public void Open_ByIdOrUniqueLabel_ElseClearErrors()
    {
        using (_store.Create(Options("one") with { Label = "Office" }))
        {
        }

        using (_store.Create(Options("two") with { Label = "Home" }))
        {
        }

        using (_store.Create(Options("three") with { Label = "Home" }))
        {
        }

        using (var byId = _store.Open("one"))
        {
            Assert.Equal("Office", byId.Header.Label);
        }

        using (var byLabel = _store.Open("Office"))
        {
            Assert.Equal("one", byLabel.Header.Id);
        }

        var ambiguous = Assert.Throws<VscException>(() => _store.Open("Home"));
        Assert.Equal("label 'Home' is ambiguous: it matches three, two; use the Id", ambiguous.Message);
        var unknown = Assert.Throws<VscException>(() => _store.Open("nobody"));
        Assert.Equal($"no VSC with Id or label 'nobody' in {_store.DirectoryPath}", unknown.Message);
    }

    [Fact]
    public void Open_DamagedFile_ThrowsFormatExceptionAndReleasesLock()
    {
        using (_store.Create(Options("bad")))
        {
        }

        var bytes = File.ReadAllBytes(_store.PathFor("bad"));
        bytes[40] ^= 0x01;
        File.WriteAllBytes(_store.PathFor("bad"), bytes);

        Assert.Throws<VscFormatException>(() => _store.Open("bad"));
        using (_store.Lock("bad"))
        {
        }
    }

    [Fact]
    public void Lock_SecondTime_InUseNamingThePid()
    {
        using var first = _store.Lock("card");

        var ex = Assert.Throws<VscInUseException>(() => _store.Lock("card"));

        Assert.Equal(Environment.ProcessId, ex.Pid);
        Assert.Contains($"(pid {Environment.ProcessId})", ex.Message, StringComparison.Ordinal);
        first.Dispose();
        using (_store.Lock("card"))
        {
        }
    }

    [Fact]
    public void Open_HoldsLockUntilDisposed_ReadOnlyStillWorks()
    {
        using (_store.Create(Options("live")))
        {
        }

        var live = _store.Open("live");
        Assert.Throws<VscInUseException>(() => _store.Open("live"));
        Assert.Throws<VscInUseException>(() => _store.Delete("live"));
        using (var view = _store.OpenReadOnly("live"))
        {
            Assert.True(view.IsReadOnly);
            Assert.Equal("live", view.Header.Id);
        }

        live.Dispose();
        using (_store.Open("live"))
        {
        }
    }

    [Fact]
    public void Lock_HeldByAnotherProcess_InUseWithItsPid()
    {
        if (!File.Exists("/usr/bin/flock"))
        {
            return; // util-linux flock(1) is needed to hold the lock from a second process.
        }

        string lockFile = Path.Combine(_store.DirectoryPath, "shared.lock");
        Directory.CreateDirectory(_store.DirectoryPath);
        var start = new ProcessStartInfo("/usr/bin/flock", ["-x", "-o", lockFile, "sh", "-c", $"echo $$ > '{lockFile}'; exec sleep 30"]);
        using var holder = Process.Start(start)!;
        try
        {
            int pid = WaitForPid(lockFile);

            var ex = Assert.Throws<VscInUseException>(() => _store.Lock("shared"));

            Assert.Equal($"VSC shared is in use by another CardKeep process (pid {pid})", ex.Message);
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
        }

        using (_store.Lock("shared"))
        {
        }
    }

    [Fact]
    public void ExportImport_RoundTrip_SameBytesAndUsable()
    {
        string exported;
        using (var card = _store.Create(Options("travel") with { Label = "Travel" }))
        {
            card.PutPublicObject(0x5FC102, [1, 2, 3]);
            card.PutPrivateObject(0x5FC109, [4, 5, 6]);
        }

        exported = _store.Export("Travel", _dir.File("travel-copy.vsc"));
        Assert.Equal(_dir.File("travel-copy.vsc"), exported);
        Assert.Equal(File.ReadAllBytes(_store.PathFor("travel")), File.ReadAllBytes(exported));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, ModeOf(exported));
        _store.Delete("travel");
        Assert.Empty(_store.List());

        var header = _store.Import(exported);

        Assert.Equal(("travel", "Travel"), (header.Id, header.Label));
        using var imported = _store.Open("travel");
        Assert.Equal([1, 2, 3], imported.GetPublicObject(0x5FC102)!);
        using var unlock = Unlock(imported);
        Assert.Equal([4, 5, 6], imported.GetPrivateObject(0x5FC109, unlock)!);
    }

    [Fact]
    public void Import_DuplicateId_RefusedUnlessReplace()
    {
        using (var card = _store.Create(Options("same")))
        {
            card.SetLabel("original");
        }

        string copy = _store.Export("same", _dir.File("copy.vsc"));
        using (var card = _store.Open("same"))
        {
            card.SetLabel("changed");
        }

        var ex = Assert.Throws<VscException>(() => _store.Import(copy));
        Assert.Contains("already exists", ex.Message, StringComparison.Ordinal);
        Assert.Equal("changed", _store.List().Single().Label);

        Assert.Equal("original", _store.Import(copy, replace: true).Label);
        Assert.Equal("original", _store.List().Single().Label);
    }

    [Fact]
    public void Import_DamagedFile_RefusedAndNothingWritten()
    {
        using (_store.Create(Options("good")))
        {
        }

        string copy = _store.Export("good", _dir.File("copy.vsc"));
        _store.Delete("good");
        var bytes = File.ReadAllBytes(copy);
        File.WriteAllBytes(copy, bytes[..^1]);

        var ex = Assert.Throws<VscFormatException>(() => _store.Import(copy));

        Assert.Equal(copy, ex.FilePath);
        Assert.Empty(_store.List());
    }

    [Fact]
    public void Export_DestinationExistsOrSourceDamaged_Refused()
    {
        using (_store.Create(Options("e")))
        {
        }

        File.WriteAllText(_dir.File("taken.vsc"), "x");
        Assert.Throws<VscException>(() => _store.Export("e", _dir.File("taken.vsc")));
        Assert.Equal("x", File.ReadAllText(_dir.File("taken.vsc")));

        var bytes = File.ReadAllBytes(_store.PathFor("e"));
        bytes[^1] ^= 1;
        File.WriteAllBytes(_store.PathFor("e"), bytes);
        Assert.Throws<VscFormatException>(() => _store.Export("e", _dir.File("out.vsc")));
        Assert.False(File.Exists(_dir.File("out.vsc")));
    }

    [Fact]
    public void Delete_RemovesFileAndLock_DamagedFileDeletableById()
    {
        using (_store.Create(Options("gone")))
        {
        }

        File.WriteAllText(Path.Combine(_store.DirectoryPath, "broken.vsc"), "junk");

        _store.Delete("gone");
        _store.Delete("broken");

        Assert.Empty(Directory.EnumerateFileSystemEntries(_store.DirectoryPath));
        Assert.Throws<VscException>(() => _store.Delete("gone"));
    }

    [Fact]
    public void PathFor_InvalidId_Throws()
    {
        Assert.Throws<ArgumentException>(() => _store.PathFor("../escape"));
        Assert.Throws<ArgumentException>(() => _store.Lock("a b"));
        Assert.Throws<ArgumentException>(() => _store.PathFor(new string('a', 65)));
        Assert.EndsWith("a.vsc", _store.PathFor("a"), StringComparison.Ordinal);
    }

    private static int WaitForPid(string lockFile)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                // flock(1) holds the lock; reading through .NET would take a shared flock and fail, so poll via /proc.
                string text = File.Exists(lockFile) ? ReadUnlocked(lockFile) : "";
                if (int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                {
                    return pid;
                }
            }
            catch (IOException)
            {
                // Not written yet.
            }

            Thread.Sleep(20);
        }

        throw new TimeoutException("flock(1) did not start");
    }

    private static string ReadUnlocked(string path)
    {
        var head = LibC.ReadHead(path, 32);
        return head is null ? "" : System.Text.Encoding.ASCII.GetString(head);
    }
}
