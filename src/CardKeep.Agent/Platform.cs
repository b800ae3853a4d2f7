using System.Runtime.Versioning;

// The agent is built on Linux facilities: SO_PEERCRED, Unix sockets and modes, libsodium, pcsc-lite.
[assembly: SupportedOSPlatform("linux")]
