using System.Security.Cryptography;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// Serial numbers of virtual smart cards. They lie in [2,000,000,000, 2,099,999,999]: ten decimal digits starting
/// with "20", so tools and people can tell a software card from a real one by its serial alone.
/// </summary>
public static class VscSerial
{
    /// <summary>Smallest VSC serial (2,000,000,000).</summary>
    public const uint Min = 2_000_000_000;

    /// <summary>Largest VSC serial (2,099,999,999).</summary>
    public const uint Max = 2_099_999_999;

    /// <summary>True when <paramref name="serial"/> is in the VSC range, i.e. marks a software card.</summary>
    public static bool IsVirtual(uint serial) => serial is >= Min and <= Max;

    /// <summary>A uniformly random VSC serial from a cryptographic RNG.</summary>
    public static uint NewRandom() => Min + (uint)RandomNumberGenerator.GetInt32((int)(Max - Min + 1));
}
