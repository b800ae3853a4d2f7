using System.Buffers.Binary;
using System.Security.Cryptography;
using CardKeep.VirtualCard.Store;
using static CardKeep.VirtualCard.Tests.Store.TestCards;

namespace CardKeep.VirtualCard.Tests.Store;

/// <summary>The consistency check: every damaged, truncated or malformed file is refused with a VscFormatException that says what failed.</summary>
public sealed class VscIntegrityTests : IDisposable
{
    private static readonly byte[] _publicValue = "PUBLIC-CHUID-VALUE"u8.ToArray();

    private readonly TempDir _dir = new();
    private readonly string _path;
    private readonly byte[] _good;

    public VscIntegrityTests()
    {
        // A small card that exercises every area: attributes, source data, public, private, sealed and plain keys.
        var (pkcs8, spki) = EcKey(ECCurve.NamedCurves.nistP256);
        var (plainPkcs8, plainSpki) = EcKey(ECCurve.NamedCurves.nistP256);
        var options = Options() with
        {
            Role = VscRole.Backup,
            Parent = "card:00001079",
            Attributes = new Dictionary<string, string> { ["owner"] = "mike" },
            SourceSerial = "00001079",
            SourceAtr = new byte[] { 0x3B, 0x8C, 0x80, 0x01 },
        };
        using (var card = Create(_dir, options))
        {
            card.PutPublicObject(0x5FC102, _publicValue);
            card.PutPrivateObject(0x5FC109, "private info"u8);
            card.PutKey(0x9A, 0x11, 2, 1, 1, pkcs8, spki);
            card.PutKey(0x9E, 0x11, 0, 0, 1, plainPkcs8, plainSpki);
            _path = card.Path;
        }

        _good = File.ReadAllBytes(_path);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void TestFile_IsSmallAndOpens()
    {
        Assert.InRange(_good.Length, 1024, 3 * 1024);
        using var card = VirtualSmartCard.Open(_path, Weak);
        using (Unlock(card))
        {
        }
    }

    [Fact]
    public void Encode_OfDecodedFile_ReproducesItByteForByte()
    {
        Assert.Equal(_good, VscCodec.Encode(Decode(_path)));
    }

    [Fact]
    public void EveryByteFlipped_EachRefusedWithClearReason()
    {
        string mutated = _dir.File("mutated.vsc");
        int bodyEnd = _good.Length - VscCodec.SealLength;
        foreach (byte mask in new byte[] { 0x01, 0xFF })
        {
            for (int offset = 0; offset < _good.Length; offset++)
            {
                var bytes = (byte[])_good.Clone();
                bytes[offset] ^= mask;
                File.WriteAllBytes(mutated, bytes);

                var ex = Assert.Throws<VscFormatException>(() => VirtualSmartCard.Open(mutated, Weak));

                Assert.Equal(mutated, ex.FilePath);
                Assert.StartsWith($"VSC file '{mutated}' ", ex.Message, StringComparison.Ordinal);
                string expected = offset switch
                {
                    < 6 => "not a VSC file",
                    < 8 => "unsupported format version",
                    < 12 => "", // the length field: truncated / unexpected bytes / beyond the limit
                    _ => "checksum mismatch (file was modified or truncated)",
                };
                Assert.True(ex.Reason!.Contains(expected, StringComparison.Ordinal), $"offset {offset} mask {mask:X2}: {ex.Message}");
                Assert.True(offset < bodyEnd || ex.Reason.StartsWith("checksum", StringComparison.Ordinal));
            }
        }
    }

    [Fact]
    public void EveryTruncation_EachRefusedNamingTheCut()
    {
        string truncated = _dir.File("truncated.vsc");
        for (int length = 0; length < _good.Length; length++)
        {
            File.WriteAllBytes(truncated, _good[..length]);

            var ex = Assert.Throws<VscFormatException>(() => VirtualSmartCard.Open(truncated, Weak));

            Assert.Contains($"is damaged: truncated at byte {length} while reading the ", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Truncation_InsidePublicObject_NamesThePublicArea()
    {
        int cut = _good.AsSpan().IndexOf(_publicValue) + 3;
        File.WriteAllBytes(_path, _good[..cut]);

        var ex = Assert.Throws<VscFormatException>(() => VirtualSmartCard.Open(_path, Weak));

        Assert.Equal($"VSC file '{_path}' is damaged: truncated at byte {cut} while reading the public area (the file should be {_good.Length} bytes)", ex.Message);
    }

    [Theory]
    [InlineData(0, "file preamble")]
    [InlineData(11, "file preamble")]
    [InlineData(12, "header")]
    [InlineData(-1, "checksum")]
    public void Truncation_AtBoundaries_NamesThePart(int cut, string part)
    {
        int length = cut < 0 ? _good.Length + cut : cut;
        File.WriteAllBytes(_path, _good[..length]);

        var ex = Assert.Throws<VscFormatException>(() => VirtualSmartCard.Open(_path, Weak));

        Assert.Contains($"truncated at byte {length} while reading the {part}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsupportedVersion_RefusedNamingTheVersion()
    {
        var bytes = (byte[])_good.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(6), 9);
        File.WriteAllBytes(_path, bytes);

        var ex = Assert.Throws<VscFormatException>(() => VirtualSmartCard.Open(_path, Weak));

        Assert.Equal($"VSC file '{_path}' cannot be used: unsupported format version 9 (this CardKeep reads version 1)", ex.Message);
    }

    [Fact]
    public void TrailingBytes_Refused()
    {
        File.WriteAllBytes(_path, [.. _good, 0]);

        var ex = Assert.Throws<VscFormatException>(() => VirtualSmartCard.Open(_path, Weak));

        Assert.Contains("1 unexpected bytes after the end of the file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BodyFlip_Message_IsTheChecksumSentence()
    {
        var bytes = (byte[])_good.Clone();
        bytes[100] ^= 0x01;
        File.WriteAllBytes(_path, bytes);

        var ex = Assert.Throws<VscFormatException>(() => VirtualSmartCard.Open(_path, Weak));

        Assert.Equal($"VSC file '{_path}' is damaged: checksum mismatch (file was modified or truncated)", ex.Message);
    }

    [Fact]
    public void EveryByteFlipped_WithRecomputedSeal_RefusedOrSafelyHandled()
    {
        // Someone who rewrites the file can also fix the seal: then the strict parse and the AEAD must hold. Each
        // mutation either fails to open with a VscFormatException, or opens and then the right PIN gives Verified,
        // Wrong (a damaged PIN wrap looks like a wrong PIN) or a VscFormatException; nothing else escapes.
        string mutated = _dir.File("resealed.vsc");
        int opened = 0;
        foreach (byte mask in new byte[] { 0x01, 0xFF })
        {
            for (int offset = VscCodec.PreambleLength; offset < _good.Length - VscCodec.SealLength; offset++)
            {
                var bytes = (byte[])_good.Clone();
                bytes[offset] ^= mask;
                Reseal(bytes);
                File.WriteAllBytes(mutated, bytes);

                VirtualSmartCard card;
                try
                {
                    card = VirtualSmartCard.Open(mutated, Weak);
                }
                catch (VscFormatException)
                {
                    continue;
                }

                opened++;
                using (card)
                {
                    try
                    {
                        var result = card.VerifyPin("123456"u8);
                        Assert.True(result is PinResult.Verified or PinResult.Wrong, $"offset {offset}: {result}");
                        (result as PinResult.Verified)?.Unlock.Dispose();
                    }
                    catch (VscFormatException)
                    {
                        // Damage found by the first unlock's authentication of every sealed item.
                    }
                }

            }
        }

        Assert.InRange(opened, 1, 2 * _good.Length);
    }

    [Fact]
    public void PrivateCiphertextModified_FirstUnlockNamesTheObjectAndKeepsCounter()
    {
        var d = Decode(_path);
        var item = d.PrivateObjects[0x5FC109];
        var ciphertext = (byte[])item.Ciphertext.Clone();
        ciphertext[0] ^= 1;
        WriteResealed(_path, d with { PrivateObjects = d.PrivateObjects.SetItem(0x5FC109, item with { Ciphertext = ciphertext }) });

        using var card = VirtualSmartCard.Open(_path, Weak);
        var ex = Assert.Throws<VscFormatException>(() => card.VerifyPin("123456"u8));

        Assert.Equal($"VSC file '{_path}' is damaged: private object 5FC109 failed authentication (modified, or moved from another card or slot)", ex.Message);
        Assert.Equal(3, card.PinRetriesLeft);
    }

    [Fact]
    public void AreaPublicKeyReplaced_UnlockRefusedAsDamaged()
    {
        var d = Decode(_path);
        var (otherPublic, otherPrivate) = VscCrypto.NewAreaKey();
        CryptographicOperations.ZeroMemory(otherPrivate);
        WriteResealed(_path, d with { AreaPublicKey = otherPublic });

        using var card = VirtualSmartCard.Open(_path, Weak);
        var ex = Assert.Throws<VscFormatException>(() => card.VerifyPin("123456"u8));

        Assert.Contains("the unwrapped area key does not belong to the area public key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PinWrapModified_RightPinCountsAsWrong()
    {
        var d = Decode(_path);
        var tag = (byte[])d.PinWrap.Tag.Clone();
        tag[0] ^= 1;
        WriteResealed(_path, d with { PinWrap = d.PinWrap with { Tag = tag } });

        using var card = VirtualSmartCard.Open(_path, Weak);

        Assert.Equal(2, Wrong(card.VerifyPin("123456"u8)));
    }

    public static TheoryData<string, string> StructuralDamage => new()
    {
        { "off-curve area key", "area public key is not a valid P-256 point" },
        { "serial out of range", "serial 1234 is outside the VSC range" },
        { "short nonce", "nonce is 11 bytes, expected 12" },
        { "too many iterations", "PBKDF2 iterations, more than the maximum 10000000" },
        { "retries left above max", "PIN retries left (4) exceed the maximum (3)" },
        { "protection mismatch", "protection None does not match PIN policy 2" },
        { "unsorted public objects", "public area: object tags are not in strictly ascending order" },
        { "bad id", "Id may contain only" },
        { "wrong card type", "card type is not PIV" },
        { "management key flag", "is-default flag does not match the key" },
    };

    [Theory]
    [MemberData(nameof(StructuralDamage))]
    public void StructuralDamage_WithValidSeal_RefusedAtOpenNamingTheProblem(string damage, string reason)
    {
        var d = Decode(_path);
        var broken = damage switch
        {
            "off-curve area key" => d with { AreaPublicKey = OffCurve(d.AreaPublicKey) },
            "serial out of range" => d with { Serial = 1234 },
            "short nonce" => d with { PinWrap = d.PinWrap with { Nonce = new byte[11] } },
            "too many iterations" => d with { PukWrap = d.PukWrap with { Iterations = 20_000_000 } },
            "retries left above max" => d with { PinRetriesLeft = 4 },
            "protection mismatch" => d with { Keys = d.Keys.SetItem(0x9A, d.Keys[0x9A] with { Info = d.Keys[0x9A].Info with { Protection = KeyProtection.None }, Sealed = null, PlainPkcs8 = d.Keys[0x9E].PlainPkcs8 }) },
            "unsorted public objects" => d,
            "bad id" => d with { Id = "bad/id" },
            "wrong card type" => d with { CardType = "GIDS" },
            "management key flag" => d with { ManagementKey = d.ManagementKey with { IsDefault = false } },
            _ => throw new ArgumentOutOfRangeException(nameof(damage)),
        };
        File.WriteAllBytes(_path, damage == "unsorted public objects" ? UnsortedPublicObjects() : VscCodec.Encode(broken));

        var ex = Assert.Throws<VscFormatException>(() => VirtualSmartCard.Open(_path, Weak));

        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GarbageAndEmptyFiles_RefusedAsNotVsc()
    {
        File.WriteAllBytes(_path, "hello world, definitely not a card"u8.ToArray());
        Assert.Contains("not a VSC file", Assert.Throws<VscFormatException>(() => VirtualSmartCard.Open(_path, Weak)).Message, StringComparison.Ordinal);

        File.WriteAllBytes(_path, []);
        Assert.Contains("truncated at byte 0", Assert.Throws<VscFormatException>(() => VirtualSmartCard.Open(_path, Weak)).Message, StringComparison.Ordinal);
    }

    private static byte[] OffCurve(byte[] point)
    {
        var copy = (byte[])point.Clone();
        copy[64] ^= 1;
        return copy;
    }

    /// <summary>The file with a second public object and the first one's tag raised above it: out of order, validly sealed.</summary>
    private byte[] UnsortedPublicObjects()
    {
        var d = Decode(_path);
        var twoObjects = d with { PublicObjects = d.PublicObjects.SetItem(0x5FC103, [1]) };
        var bytes = VscCodec.Encode(twoObjects);
        // Entry "A0 .. 80 04 005FC102 81 .." comes first; rewrite its tag to 0x5FC104 (> 0x5FC103).
        int at = bytes.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x80, 0x04, 0x00, 0x5F, 0xC1, 0x02]);
        bytes[at + 5] = 0x04;
        Reseal(bytes);
        return bytes;
    }
}
