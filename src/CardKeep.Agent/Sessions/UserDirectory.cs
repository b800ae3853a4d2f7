using System.Runtime.InteropServices;

namespace CardKeep.Agent.Sessions;

/// <summary>An account from the password database.</summary>
public sealed record UserAccount(uint Uid, uint Gid, string Name, string Home);

/// <summary>Looks accounts up (getpwuid/getpwnam through NSS, so /etc/passwd, LDAP, … all work).</summary>
public interface IUserDirectory
{
    UserAccount? ByUid(uint uid);

    UserAccount? ByName(string name);
}

/// <summary>The system's password database via libc. The calls return a static buffer, so they are serialised.</summary>
public sealed partial class SystemUserDirectory : IUserDirectory
{
    private static readonly Lock _lock = new();

    public UserAccount? ByUid(uint uid)
    {
        lock (_lock)
        {
            return Read(GetPwUid(uid));
        }
    }

    public UserAccount? ByName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_lock)
        {
            return Read(GetPwNam(name));
        }
    }

    private static UserAccount? Read(nint passwd)
    {
        if (passwd == 0)
        {
            return null;
        }

        // struct passwd { char *pw_name; char *pw_passwd; uid_t pw_uid; gid_t pw_gid; char *pw_gecos; char *pw_dir; char *pw_shell; }
        var record = Marshal.PtrToStructure<PasswdRecord>(passwd);
        return new UserAccount(record.Uid, record.Gid, Marshal.PtrToStringUTF8(record.Name) ?? string.Empty, Marshal.PtrToStringUTF8(record.Dir) ?? "/");
    }

    [LibraryImport("libc", EntryPoint = "getpwuid")]
    private static partial nint GetPwUid(uint uid);

    [LibraryImport("libc", EntryPoint = "getpwnam", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetPwNam(string name);

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct PasswdRecord
    {
        public readonly nint Name;
        public readonly nint Password;
        public readonly uint Uid;
        public readonly uint Gid;
        public readonly nint Gecos;
        public readonly nint Dir;
        public readonly nint Shell;
    }
}
