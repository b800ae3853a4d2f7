using System.Security.Cryptography;
using CardKeep.VirtualCard.Store;
using static CardKeep.VirtualCard.Tests.Store.TestCards;

namespace CardKeep.VirtualCard.Tests.Store;

public sealed class VscKeyTests : IDisposable
{
    private const byte PinPolicyNever = 1;
    private const byte PinPolicyOnce = 2;
    private const byte PinPolicyAlways = 3;
    private const byte TouchNever = 1;
    private const byte Generated = 1;
    private const byte Imported = 2;

    private static readonly byte[] _message = "sign me"u8.ToArray();

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> KeyKinds => ["P-256", "P-384", "RSA-2048"];

    [Theory]
    [MemberData(nameof(KeyKinds))]
    public void PutKey_UsePrivateKey_RoundTripSignsForTheSpki(string kind)
    {
        var (pkcs8, spki, algorithm) = NewKey(kind);
        using var card = Create(_dir);
        card.PutKey(0x9A, algorithm, PinPolicyOnce, TouchNever, Generated, pkcs8, spki);

        using var reopened = Reopen(card);
        var info = Assert.Single(reopened.Keys);
        Assert.Equal((0x9A, algorithm, PinPolicyOnce, TouchNever, Generated, KeyProtection.Pin), (info.Slot, info.Algorithm, info.PinPolicy, info.TouchPolicy, info.Origin, info.Protection));
        Assert.Equal(spki, info.PublicKeySpki.ToArray());
        using var unlock = Unlock(reopened);
        var signature = reopened.UsePrivateKey(0x9A, unlock, key => Sign(kind, key));
        Assert.True(Verify(kind, spki, signature));
        Assert.Equal(pkcs8, reopened.UsePrivateKey(0x9A, unlock, key => key.ToArray()));
    }

    [Theory]
    [MemberData(nameof(KeyKinds))]
    public void PutKey_Sealed_FileHoldsNeitherPkcs8NorPrivateScalar(string kind)
    {
        var (pkcs8, spki, algorithm) = NewKey(kind);
        using var card = Create(_dir);

        card.PutKey(0x9C, algorithm, PinPolicyAlways, TouchNever, Imported, pkcs8, spki);

        var file = File.ReadAllBytes(card.Path);
        Assert.False(Contains(file, pkcs8));
        Assert.False(Contains(file, PrivateScalar(kind, pkcs8)));
        Assert.True(Contains(file, spki));
    }

    [Fact]
    public void UsePrivateKey_PinProtectedWithoutUnlock_ThrowsPinRequired()
    {
        var (pkcs8, spki) = EcKey(ECCurve.NamedCurves.nistP256);
        using var card = Create(_dir);
        card.PutKey(0x9A, 0x11, PinPolicyOnce, TouchNever, Generated, pkcs8, spki);

        Assert.Throws<VscPinRequiredException>(() => card.UsePrivateKey(0x9A, null, k => k.Length));
    }

    [Fact]
    public void PutKey_PinPolicyNever_UsableWithoutUnlock()
    {
        var (pkcs8, spki) = EcKey(ECCurve.NamedCurves.nistP256);
        using var card = Create(_dir);
        card.PutKey(0x9D, 0x11, PinPolicyNever, TouchNever, Generated, pkcs8, spki);

        using var reopened = Reopen(card);

        Assert.Equal(KeyProtection.None, reopened.GetKey(0x9D)!.Protection);
        Assert.Equal(pkcs8, reopened.UsePrivateKey(0x9D, null, k => k.ToArray()));
    }

    [Fact]
    public void PutKey_Slot9EDefaultPolicy_StoredWithoutPinAsDocumented()
    {
        var (pkcs8, spki) = EcKey(ECCurve.NamedCurves.nistP256);
        using var card = Create(_dir);

        card.PutKey(0x9E, 0x11, 0, 0, Generated, pkcs8, spki);

        Assert.Equal(KeyProtection.None, card.GetKey(0x9E)!.Protection);
        Assert.True(Contains(File.ReadAllBytes(card.Path), pkcs8));
        Assert.Equal(pkcs8, Reopen(card).UsePrivateKey(0x9E, null, k => k.ToArray()));
    }

    [Fact]
    public void PutKey_Replace_KeepsOneKeyPerSlotSortedBySlot()
    {
        var first = EcKey(ECCurve.NamedCurves.nistP256);
        var second = EcKey(ECCurve.NamedCurves.nistP384);
        using var card = Create(_dir);
        card.PutKey(0x9D, 0x11, PinPolicyOnce, TouchNever, Generated, first.Pkcs8, first.Spki);
        card.PutKey(0x9A, 0x11, PinPolicyOnce, TouchNever, Generated, first.Pkcs8, first.Spki);
        card.PutKey(0x9D, 0x14, PinPolicyNever, TouchNever, Imported, second.Pkcs8, second.Spki);

        using var reopened = Reopen(card);

        Assert.Equal([0x9A, 0x9D], reopened.Keys.Select(k => k.Slot));
        Assert.Equal(0x14, reopened.GetKey(0x9D)!.Algorithm);
        Assert.Equal(second.Pkcs8, reopened.UsePrivateKey(0x9D, null, k => k.ToArray()));
    }

    [Fact]
    public void DeleteKey_Present_RemovedAndPersisted()
    {
        var (pkcs8, spki) = EcKey(ECCurve.NamedCurves.nistP256);
        using var card = Create(_dir);
        card.PutKey(0x9A, 0x11, PinPolicyOnce, TouchNever, Generated, pkcs8, spki);

        Assert.True(card.DeleteKey(0x9A));
        Assert.False(card.DeleteKey(0x9A));

        using var reopened = Reopen(card);
        Assert.Empty(reopened.Keys);
        Assert.Null(reopened.GetKey(0x9A));
        Assert.Throws<KeyNotFoundException>(() => reopened.UsePrivateKey(0x9A, null, k => k.Length));
    }

    [Fact]
    public void PutKey_NotDer_ThrowsAndStoresNothing()
    {
        var (pkcs8, spki) = EcKey(ECCurve.NamedCurves.nistP256);
        using var card = Create(_dir);

        Assert.Throws<ArgumentException>(() => card.PutKey(0x9A, 0x11, PinPolicyOnce, TouchNever, Generated, [1, 2, 3], spki));
        Assert.Throws<ArgumentException>(() => card.PutKey(0x9A, 0x11, PinPolicyOnce, TouchNever, Generated, pkcs8, []));
        Assert.Throws<ArgumentException>(() => card.PutKey(0x9A, 0x11, PinPolicyOnce, TouchNever, 3, pkcs8, spki));
        Assert.Empty(card.Keys);
    }

    [Fact]
    public void SealedKeys_SwappedBetweenSlots_FirstUnlockReportsBoth()
    {
        var a = EcKey(ECCurve.NamedCurves.nistP256);
        var b = EcKey(ECCurve.NamedCurves.nistP256);
        string path;
        using (var card = Create(_dir))
        {
            card.PutKey(0x9A, 0x11, PinPolicyOnce, TouchNever, Generated, a.Pkcs8, a.Spki);
            card.PutKey(0x9C, 0x11, PinPolicyAlways, TouchNever, Generated, b.Pkcs8, b.Spki);
            path = card.Path;
        }

        var d = Decode(path);
        var keyA = d.Keys[0x9A];
        var keyC = d.Keys[0x9C];
        WriteResealed(path, d with { Keys = d.Keys.SetItem(0x9A, keyA with { Sealed = keyC.Sealed }).SetItem(0x9C, keyC with { Sealed = keyA.Sealed }) });

        using var opened = VirtualSmartCard.Open(path, Weak);
        var ex = Assert.Throws<VscFormatException>(() => opened.VerifyPin("123456"u8));
        Assert.Contains("secret key in slot 9A, secret key in slot 9C failed authentication", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, opened.PinRetriesLeft);
    }

    [Fact]
    public void SealedItems_MovedToAnotherCard_FailAuthentication()
    {
        var (pkcs8, spki) = EcKey(ECCurve.NamedCurves.nistP256);
        using var source = Create(_dir, Options("source"), "source.vsc");
        source.PutKey(0x9A, 0x11, PinPolicyOnce, TouchNever, Generated, pkcs8, spki);
        source.PutPrivateObject(0x5FC109, [1, 2, 3]);
        string targetPath;
        using (var target = Create(_dir, Options("target"), "target.vsc"))
        {
            targetPath = target.Path;
        }

        var s = source.Document;
        var t = Decode(targetPath);
        WriteResealed(targetPath, t with { Keys = s.Keys, PrivateObjects = s.PrivateObjects });

        using var opened = VirtualSmartCard.Open(targetPath, Weak);
        var ex = Assert.Throws<VscFormatException>(() => opened.VerifyPin("123456"u8));
        Assert.Contains("private object 5FC109, secret key in slot 9A failed authentication", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SealedItems_SameAreaKeyButOtherCardId_FailAuthentication()
    {
        // The AAD binds each item to the card Id: even a copy with the same area key but another Id refuses the items.
        var (pkcs8, spki) = EcKey(ECCurve.NamedCurves.nistP256);
        using var card = Create(_dir);
        card.PutKey(0x9A, 0x11, PinPolicyOnce, TouchNever, Generated, pkcs8, spki);
        var d = card.Document;
        var area = new byte[32];
        using (var unlock = Unlock(card))
        {
            unlock.CopyAreaPrivateKey(area);
        }

        var clone = d with
        {
            Id = "clone",
            PinWrap = VscCrypto.Wrap(area, "123456"u8, WeakIterations, "clone", VscCrypto.PinPurpose),
            PukWrap = VscCrypto.Wrap(area, "12345678"u8, WeakIterations, "clone", VscCrypto.PukPurpose),
        };
        CryptographicOperations.ZeroMemory(area);
        string clonePath = _dir.File("clone.vsc");
        WriteResealed(clonePath, clone);

        using var opened = VirtualSmartCard.Open(clonePath, Weak);
        var ex = Assert.Throws<VscFormatException>(() => opened.VerifyPin("123456"u8));
        Assert.Contains("secret key in slot 9A failed authentication", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PutKey_WithoutPin_AfterUnlockIsUsable()
    {
        // GENERATE/IMPORT run with the management key only: writing needs no PIN, using the key does.
        var (pkcs8, spki) = EcKey(ECCurve.NamedCurves.nistP384);
        using var card = Create(_dir);
        using var unlock = Unlock(card);

        card.PutKey(0x9A, 0x14, PinPolicyOnce, TouchNever, Generated, pkcs8, spki);

        Assert.Equal(pkcs8, card.UsePrivateKey(0x9A, unlock, k => k.ToArray()));
    }

    private static (byte[] Pkcs8, byte[] Spki, byte Algorithm) NewKey(string kind) => kind switch
    {
        "P-256" => Tuple(EcKey(ECCurve.NamedCurves.nistP256), 0x11),
        "P-384" => Tuple(EcKey(ECCurve.NamedCurves.nistP384), 0x14),
        "RSA-2048" => Tuple(RsaKey(2048), 0x07),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static (byte[] Pkcs8, byte[] Spki, byte Algorithm) Tuple((byte[] Pkcs8, byte[] Spki) key, byte algorithm) =>
        (key.Pkcs8, key.Spki, algorithm);

    private static byte[] Sign(string kind, ReadOnlySpan<byte> pkcs8)
    {
        using var key = NewAlgorithm(kind);
        key.ImportPkcs8PrivateKey(pkcs8, out _);
        return key switch
        {
            RSA rsa => rsa.SignData(_message, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ec => ec.SignData(_message, HashAlgorithmName.SHA256),
            _ => throw new InvalidOperationException(),
        };
    }

    private static bool Verify(string kind, byte[] spki, byte[] signature)
    {
        using var key = NewAlgorithm(kind);
        key.ImportSubjectPublicKeyInfo(spki, out _);
        return key switch
        {
            RSA rsa => rsa.VerifyData(_message, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ec => ec.VerifyData(_message, signature, HashAlgorithmName.SHA256),
            _ => throw new InvalidOperationException(),
        };
    }

    /// <summary>The secret number of the key (EC: d; RSA: the prime p), to search the file for it.</summary>
    private static byte[] PrivateScalar(string kind, byte[] pkcs8)
    {
        using var key = NewAlgorithm(kind);
        key.ImportPkcs8PrivateKey(pkcs8, out _);
        return key switch
        {
            RSA rsa => rsa.ExportParameters(includePrivateParameters: true).P!,
            ECDsa ec => ec.ExportParameters(includePrivateParameters: true).D!,
            _ => throw new InvalidOperationException(),
        };
    }

    private static AsymmetricAlgorithm NewAlgorithm(string kind) =>
        kind.StartsWith("RSA", StringComparison.Ordinal) ? RSA.Create() : ECDsa.Create();
}
