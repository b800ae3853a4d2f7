using CardKeep.Agent.Daemon;

namespace CardKeep.Agent.Tests.Daemon;

public sealed class SafeFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cardkeep-safe-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(0b111_000_000, true)]
    [InlineData(0b111_101_101, true)]
    [InlineData(0b111_111_111, false)]
    [InlineData(0b111_111_000, false)]
    public void Require_ModeWithoutSticky_OnlyOwnerWritableIsAccepted(int mode, bool accepted)
    {
        File.SetUnixFileMode(_dir, (UnixFileMode)mode);
        if (accepted)
        {
            SafeFolder.Require(_dir);
        }
        else
        {
            Assert.Throws<IOException>(() => SafeFolder.Require(_dir));
        }
    }

    [Fact]
    public void Require_WorldWritableWithStickyBit_IsAccepted()
    {
        File.SetUnixFileMode(_dir, (UnixFileMode)0b1_111_111_111);
        SafeFolder.Require(_dir);
        SafeFolder.Require(Path.GetTempPath());
    }

    [Fact]
    public void Require_FolderOfAnotherUid_IsRefused()
    {
        if (LibC.GetEuid() != 0)
        {
            return; // Only root can give a folder away; scripts/test.sh runs as root.
        }

        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_000_000);
        Assert.Equal(0, Chown(_dir, 4242, 4242));
        Assert.Throws<IOException>(() => SafeFolder.Require(_dir));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "chown", SetLastError = true)]
    private static extern int Chown([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, uint owner, uint group);
}
