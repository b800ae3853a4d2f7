using CardKeep.VirtualCard.Store;
using static CardKeep.VirtualCard.Tests.Store.TestCards;

namespace CardKeep.VirtualCard.Tests.Store;

/// <summary>Saves replace the file atomically: after a crash the old or the new file is there, never a mix.</summary>
public sealed class VscAtomicSaveTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Save_FailsBeforeRename_OldFileIntactAndCardUnchanged()
    {
        using var card = Create(_dir);
        card.PutPublicObject(1, [1]);
        var before = File.ReadAllBytes(card.Path);
        card.BeforeRenameForTests = _ => throw new IOException("disk full");

        Assert.Throws<IOException>(() => card.PutPublicObject(2, [2]));

        Assert.Equal(before, File.ReadAllBytes(card.Path));
        Assert.Equal([1u], card.PublicObjectTags);
        Assert.Equal([Path.GetFileName(card.Path)], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
        card.BeforeRenameForTests = null;
        card.PutPublicObject(3, [3]);
        Assert.Equal([1u, 3u], Reopen(card).PublicObjectTags);
    }

    [Fact]
    public void Save_ProcessKilledBetweenWriteAndRename_OldFileStaysAndStrayTempIsIgnoredThenCleaned()
    {
        var store = new VscStore(_dir.Path, Weak);
        string stray = "";
        using (var card = store.Create(Options("crash")))
        {
            card.PutPublicObject(1, "old"u8);

            // "Kill" the process after the temporary file is complete: keep a copy of it where the crash would leave it.
            card.BeforeRenameForTests = temp =>
            {
                stray = temp + "-left";
                File.Copy(temp, stray);
                throw new IOException("killed");
            };
            Assert.Throws<IOException>(() => card.PutPublicObject(1, "new"u8));
        }

        string leftover = store.PathFor("crash") + ".tmp-0123456789abcdef";
        File.Move(stray, leftover);

        var listing = Assert.Single(store.List());
        Assert.False(listing.IsDamaged);
        using (var card = store.Open("crash"))
        {
            Assert.Equal("old"u8.ToArray(), card.GetPublicObject(1));
        }

        Assert.False(File.Exists(leftover));
    }

    [Fact]
    public void Save_Normal_LeavesNoTemporaryFilesAndKeepsMode0600()
    {
        using var card = Create(_dir);
        for (int i = 0; i < 20; i++)
        {
            card.PutPublicObject((uint)i, [(byte)i]);
        }

        Assert.Single(Directory.GetFiles(_dir.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, ModeOf(card.Path));
    }

    [Fact]
    public void Save_Explicit_RewritesSameContent()
    {
        using var card = Create(_dir);
        card.PutPublicObject(7, [7]);
        var before = File.ReadAllBytes(card.Path);

        card.Save();

        Assert.Equal(before, File.ReadAllBytes(card.Path));
    }
}
