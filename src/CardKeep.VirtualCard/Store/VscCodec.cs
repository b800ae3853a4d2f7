using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using CardKeep.Cards;
using CardKeep.Cards.Iso7816;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// The VSC file format, version 1 (docs/vsc-format.md): a 12-byte preamble (magic, version, body length), a body of
/// six BER-TLV areas, and a SHA-256 seal over everything before it. <see cref="Encode"/> writes it;
/// <see cref="VscDecoder"/> reads and checks it.
/// </summary>
internal static class VscCodec
{
    public const int CurrentVersion = 1;
    public const int PreambleLength = 12;
    public const int SealLength = 32;
    public const byte KdfPbkdf2Sha256 = 1;

    public const uint HeaderTag = 0xA1;
    public const uint UniqueIdTag = 0xA2;
    public const uint PublicTag = 0xA3;
    public const uint PrivateTag = 0xA4;
    public const uint KeysTag = 0xA5;
    public const uint PasswordTag = 0xA6;
    public const uint EntryTag = 0xA0;
    public const uint EnvelopeTag = 0xA7;

    /// <summary>"CKVSC" followed by 0x1A (stops `type`/`cat` on some systems and catches text-mode transfers).</summary>
    public static ReadOnlySpan<byte> Magic => [0x43, 0x4B, 0x56, 0x53, 0x43, 0x1A];

    /// <summary>Encodes the whole file. The result holds the cleartext management key and policy-Never keys: zero it after use.</summary>
    public static byte[] Encode(VscDocument d)
    {
        TlvOut[] areas = [EncodeHeader(d), EncodeUniqueId(d), EncodePublic(d), EncodePrivate(d), EncodeKeys(d), EncodePassword(d)];
        int bodyLength = areas.Sum(a => a.EncodedLength);
        var file = new byte[PreambleLength + bodyLength + SealLength];
        Magic.CopyTo(file);
        BinaryPrimitives.WriteUInt16BigEndian(file.AsSpan(6), CurrentVersion);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(8), (uint)bodyLength);
        int offset = PreambleLength;
        foreach (var area in areas)
        {
            area.WriteTo(file, ref offset);
        }

        SHA256.HashData(file.AsSpan(0, offset), file.AsSpan(offset));
        return file;
    }

    /// <summary>File codes of the enums: the byte is the 1-based position in these tables (the one place that fixes them).</summary>
    internal static readonly VscState[] StateCodes = [VscState.Enabled, VscState.Disabled];

    internal static readonly VscRole[] RoleCodes = [VscRole.Standalone, VscRole.Backup, VscRole.Escrow, VscRole.Emergency];

    internal static readonly KeyProtection[] ProtectionCodes = [KeyProtection.Pin, KeyProtection.None];

    public static byte Code<T>(T[] codes, T value)
        where T : struct, Enum
    {
        int index = Array.IndexOf(codes, value);
        return index >= 0 ? (byte)(index + 1) : throw new ArgumentOutOfRangeException(nameof(value));
    }

    private static TlvOut EncodeHeader(VscDocument d) => TlvOut.Node(HeaderTag,
        Text(0x80, d.Id),
        Text(0x81, d.Label),
        Text(0x82, d.CardType),
        U8(0x83, Code(StateCodes, d.State)),
        Time(0x84, d.Created),
        Time(0x85, d.Modified),
        U8(0x86, Code(RoleCodes, d.Role)),
        d.Parent is null ? null : Text(0x87, d.Parent),
        Text(0x88, d.AccessConditions),
        d.Attributes.IsEmpty ? null : TlvOut.Node(0xA9, d.Attributes.Select(a => TlvOut.Node(EntryTag, Text(0x80, a.Key), Text(0x81, a.Value)))));

    private static TlvOut EncodeUniqueId(VscDocument d) => TlvOut.Node(UniqueIdTag,
        U32(0x80, d.Serial),
        TlvOut.Leaf(0x81, d.CardGuid),
        d.SourceSerial is null ? null : Text(0x82, d.SourceSerial),
        d.SourceAtr is null ? null : TlvOut.Leaf(0x83, d.SourceAtr));

    private static TlvOut EncodePublic(VscDocument d) => TlvOut.Node(PublicTag,
        d.PublicObjects.Select(o => TlvOut.Node(EntryTag, U32(0x80, o.Key), TlvOut.Leaf(0x81, o.Value))));

    private static TlvOut EncodePrivate(VscDocument d) => TlvOut.Node(PrivateTag,
        d.PrivateObjects.Select(o => TlvOut.Node(EntryTag, U32(0x80, o.Key), Envelope(o.Value))));

    private static TlvOut EncodeKeys(VscDocument d) => TlvOut.Node(KeysTag,
        d.Keys.Values.Select(k => TlvOut.Node(EntryTag,
            U8(0x80, k.Info.Slot),
            U8(0x81, k.Info.Algorithm),
            U8(0x82, k.Info.PinPolicy),
            U8(0x83, k.Info.TouchPolicy),
            U8(0x84, k.Info.Origin),
            U8(0x85, Code(ProtectionCodes, k.Info.Protection)),
            TlvOut.Leaf(0x86, k.Info.PublicKeySpki.ToArray()),
            k.Sealed is null ? null : Envelope(k.Sealed),
            k.PlainPkcs8 is null ? null : TlvOut.Leaf(0x88, k.PlainPkcs8))));

    private static TlvOut EncodePassword(VscDocument d) => TlvOut.Node(PasswordTag,
        TlvOut.Leaf(0x80, d.AreaPublicKey),
        Wrap(0xA1, d.PinWrap),
        Wrap(0xA2, d.PukWrap),
        U8(0x83, (byte)d.PinRetriesMax),
        U8(0x84, (byte)d.PinRetriesLeft),
        U8(0x85, (byte)d.PukRetriesMax),
        U8(0x86, (byte)d.PukRetriesLeft),
        Bool(0x87, d.PinIsDefault),
        Bool(0x88, d.PukIsDefault),
        TlvOut.Node(0xA9,
            U8(0x80, d.ManagementKey.Algorithm),
            TlvOut.Leaf(0x81, d.ManagementKey.Key),
            Bool(0x82, d.ManagementKey.Touch),
            Bool(0x83, d.ManagementKey.IsDefault)));

    private static TlvOut Envelope(SealedItem item) => TlvOut.Node(EnvelopeTag,
        TlvOut.Leaf(0x80, item.EphemeralPublicKey),
        TlvOut.Leaf(0x81, item.Nonce),
        TlvOut.Leaf(0x82, item.Ciphertext),
        TlvOut.Leaf(0x83, item.Tag));

    private static TlvOut Wrap(uint tag, WrappedKey wrap) => TlvOut.Node(tag,
        U8(0x80, KdfPbkdf2Sha256),
        U32(0x81, (uint)wrap.Iterations),
        TlvOut.Leaf(0x82, wrap.Salt),
        TlvOut.Leaf(0x83, wrap.Nonce),
        TlvOut.Leaf(0x84, wrap.Ciphertext),
        TlvOut.Leaf(0x85, wrap.Tag));

    private static TlvOut Text(uint tag, string value) => TlvOut.Leaf(tag, Encoding.UTF8.GetBytes(value));

    private static TlvOut U8(uint tag, byte value) => TlvOut.Leaf(tag, [value]);

    private static TlvOut Bool(uint tag, bool value) => U8(tag, value ? (byte)1 : (byte)0);

    private static TlvOut U32(uint tag, uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return TlvOut.Leaf(tag, bytes);
    }

    private static TlvOut Time(uint tag, DateTimeOffset value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value.ToUnixTimeMilliseconds());
        return TlvOut.Leaf(tag, bytes);
    }
}

/// <summary>
/// Reads a VSC file and runs every check that needs no PIN: signature, version, length (truncation), SHA-256 seal,
/// then a strict parse of each area (tags in order, exact sizes, valid enums and text, valid P-256 points, nonce and
/// tag sizes, KDF parameters). Anything wrong raises <see cref="VscFormatException"/> naming the file and the problem;
/// no other exception type escapes for bad input.
/// </summary>
internal sealed class VscDecoder(string path, bool allowWeakKdf)
{
    private static readonly UTF8Encoding _strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly (uint Tag, string Name)[] _areas =
    [
        (VscCodec.HeaderTag, "header"),
        (VscCodec.UniqueIdTag, "unique-ID area"),
        (VscCodec.PublicTag, "public area"),
        (VscCodec.PrivateTag, "private area"),
        (VscCodec.KeysTag, "secret-key area"),
        (VscCodec.PasswordTag, "password area"),
    ];

    public VscDocument Decode(ReadOnlyMemory<byte> file)
    {
        int bodyLength = CheckFrame(file.Span);
        IReadOnlyList<TlvNode> top;
        try
        {
            top = BerTlv.Parse(file.Slice(VscCodec.PreambleLength, bodyLength), VscCodec.PreambleLength);
        }
        catch (CardFormatException ex)
        {
            throw Fail($"malformed file body: {ex.Message}", ex);
        }

        var body = new Fields(this, top, "file body");
        var header = body.Area(_areas[0].Tag, _areas[0].Name);
        var unique = body.Area(_areas[1].Tag, _areas[1].Name);
        var publicArea = body.Area(_areas[2].Tag, _areas[2].Name);
        var privateArea = body.Area(_areas[3].Tag, _areas[3].Name);
        var keyArea = body.Area(_areas[4].Tag, _areas[4].Name);
        var password = body.Area(_areas[5].Tag, _areas[5].Name);
        body.End();

        string id = header.Text(0x80, "Id", VscRules.CheckId);
        string label = header.Text(0x81, "label", VscRules.CheckLabel);
        string cardType = header.Text(0x82, "card type", t => t == VscRules.PivCardType ? null : "card type is not PIV");
        var state = header.Code(0x83, "state", VscCodec.StateCodes);
        var created = header.Time(0x84, "created time");
        var modified = header.Time(0x85, "modified time");
        var role = header.Code(0x86, "role", VscCodec.RoleCodes);
        string? parent = header.OptionalText(0x87, "parent", VscRules.CheckParent);
        string accessConditions = header.Text(0x88, "access conditions", VscRules.CheckAccessConditions);
        var attributes = ReadAttributes(header.OptionalArea(0xA9, "header attributes"));
        header.End();

        uint serial = unique.UInt32(0x80, "serial");
        if (!VscSerial.IsVirtual(serial))
        {
            throw Fail($"unique-ID area: serial {serial} is outside the VSC range {VscSerial.Min}..{VscSerial.Max}");
        }

        var guid = unique.Bytes(0x81, "card GUID", VscRules.GuidLength, VscRules.GuidLength);
        string? sourceSerial = unique.OptionalText(0x82, "source serial", VscRules.CheckSourceSerial);
        var sourceAtr = unique.OptionalBytes(0x83, "source ATR", VscRules.MinAtrLength, VscRules.MaxAtrLength);
        unique.End();

        var publicObjects = ImmutableSortedDictionary.CreateBuilder<uint, byte[]>();
        uint? previousTag = null;
        foreach (var entry in publicArea.Entries("public area"))
        {
            uint tag = entry.UInt32(0x80, "object tag");
            previousTag = Ascending(previousTag, tag, "public area", "object tags");
            publicObjects[tag] = entry.Bytes(0x81, "object value", 0, VscRules.MaxObjectLength);
            entry.End();
        }

        var privateObjects = ImmutableSortedDictionary.CreateBuilder<uint, SealedItem>();
        previousTag = null;
        foreach (var entry in privateArea.Entries("private area"))
        {
            uint tag = entry.UInt32(0x80, "object tag");
            previousTag = Ascending(previousTag, tag, "private area", "object tags");
            if (publicObjects.ContainsKey(tag))
            {
                throw Fail($"private area: object {tag:X} is also in the public area");
            }

            privateObjects[tag] = ReadEnvelope(entry.Area(VscCodec.EnvelopeTag, $"private object {tag:X} envelope"), VscRules.MaxObjectLength);
            entry.End();
        }

        var keys = ImmutableSortedDictionary.CreateBuilder<byte, StoredKey>();
        previousTag = null;
        foreach (var entry in keyArea.Entries("secret-key area"))
        {
            var key = ReadKey(entry);
            previousTag = Ascending(previousTag, key.Info.Slot, "secret-key area", "slots");
            keys[key.Info.Slot] = key;
        }

        var areaPublicKey = password.Bytes(0x80, "area public key", VscCrypto.PointLength, VscCrypto.PointLength);
        if (!VscCrypto.IsValidPoint(areaPublicKey))
        {
            throw Fail("password area: area public key is not a valid P-256 point");
        }

        var pinWrap = ReadWrap(password.Area(0xA1, "PIN wrap"), "PIN wrap");
        var pukWrap = ReadWrap(password.Area(0xA2, "PUK wrap"), "PUK wrap");
        int pinMax = password.Byte(0x83, "PIN retries max");
        int pinLeft = password.Byte(0x84, "PIN retries left");
        int pukMax = password.Byte(0x85, "PUK retries max");
        int pukLeft = password.Byte(0x86, "PUK retries left");
        CheckCounter(pinMax, pinLeft, "PIN");
        CheckCounter(pukMax, pukLeft, "PUK");
        bool pinIsDefault = password.Bool(0x87, "PIN-is-default flag");
        bool pukIsDefault = password.Bool(0x88, "PUK-is-default flag");
        var managementKey = ReadManagementKey(password.Area(0xA9, "management key"));
        password.End();

        return new VscDocument
        {
            FormatVersion = VscCodec.CurrentVersion,
            Id = id,
            Label = label,
            CardType = cardType,
            State = state,
            Created = created,
            Modified = modified,
            Role = role,
            Parent = parent,
            Attributes = attributes,
            AccessConditions = accessConditions,
            Serial = serial,
            CardGuid = guid,
            SourceSerial = sourceSerial,
            SourceAtr = sourceAtr,
            PublicObjects = publicObjects.ToImmutable(),
            PrivateObjects = privateObjects.ToImmutable(),
            Keys = keys.ToImmutable(),
            AreaPublicKey = areaPublicKey,
            PinWrap = pinWrap,
            PukWrap = pukWrap,
            PinRetriesMax = pinMax,
            PinRetriesLeft = pinLeft,
            PukRetriesMax = pukMax,
            PukRetriesLeft = pukLeft,
            PinIsDefault = pinIsDefault,
            PukIsDefault = pukIsDefault,
            ManagementKey = managementKey,
        };
    }

    internal VscFormatException Fail(string reason, Exception? inner = null) => new(path, reason, inner);

    /// <summary>Checks signature, version, declared length and the SHA-256 seal; returns the body length.</summary>
    private int CheckFrame(ReadOnlySpan<byte> file)
    {
        var magic = VscCodec.Magic;
        int prefix = Math.Min(file.Length, magic.Length);
        if (!file[..prefix].SequenceEqual(magic[..prefix]))
        {
            throw Fail("not a VSC file (it does not start with the CardKeep VSC signature)");
        }

        if (file.Length < 8)
        {
            throw Fail($"truncated at byte {file.Length} while reading the file preamble");
        }

        int version = BinaryPrimitives.ReadUInt16BigEndian(file[6..]);
        if (version != VscCodec.CurrentVersion)
        {
            throw Fail($"unsupported format version {version} (this CardKeep reads version {VscCodec.CurrentVersion})");
        }

        if (file.Length < VscCodec.PreambleLength)
        {
            throw Fail($"truncated at byte {file.Length} while reading the file preamble");
        }

        uint declared = BinaryPrimitives.ReadUInt32BigEndian(file[8..]);
        if (declared > VscRules.MaxFileLength)
        {
            throw Fail($"the preamble declares a body of {declared} bytes, beyond the {VscRules.MaxFileLength}-byte limit");
        }

        int bodyLength = (int)declared;
        int expected = VscCodec.PreambleLength + bodyLength + VscCodec.SealLength;
        if (file.Length < expected)
        {
            throw Fail($"truncated at byte {file.Length} while reading the {PartAt(file, bodyLength)} (the file should be {expected} bytes)");
        }

        if (file.Length > expected)
        {
            throw Fail($"{file.Length - expected} unexpected bytes after the end of the file (the file should be {expected} bytes)");
        }

        Span<byte> seal = stackalloc byte[VscCodec.SealLength];
        SHA256.HashData(file[..(expected - VscCodec.SealLength)], seal);
        if (!seal.SequenceEqual(file[(expected - VscCodec.SealLength)..]))
        {
            throw Fail("checksum mismatch (file was modified or truncated)");
        }

        return bodyLength;
    }

    /// <summary>Names the part of a truncated file where it ends, by walking the area headers that are present.</summary>
    private static string PartAt(ReadOnlySpan<byte> file, int bodyLength)
    {
        int cut = file.Length - VscCodec.PreambleLength;
        if (cut >= bodyLength)
        {
            return "checksum";
        }

        var body = new byte[bodyLength];
        file[VscCodec.PreambleLength..].CopyTo(body);
        int offset = 0;
        int index = 0;
        try
        {
            while (offset < bodyLength && index < _areas.Length)
            {
                var node = BerTlv.ReadOne(body, ref offset);
                if (offset > cut)
                {
                    return Array.Find(_areas, a => a.Tag == node.Tag).Name ?? "file body";
                }

                index++;
            }
        }
        catch (CardFormatException)
        {
            // The cut is inside an area header (zeros follow it in the padded copy): it is the area expected next.
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
        }

        return index < _areas.Length ? _areas[index].Name : "file body";
    }

    private ImmutableSortedDictionary<string, string> ReadAttributes(Fields? area)
    {
        var attributes = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        if (area is null)
        {
            return attributes.ToImmutable();
        }

        string? previousKey = null;
        foreach (var entry in area.Entries("header attributes"))
        {
            string key = entry.Text(0x80, "attribute key", VscRules.CheckAttributeKey);
            if (previousKey is not null && string.CompareOrdinal(previousKey, key) >= 0)
            {
                throw Fail("header attributes: keys are not in strictly ascending order");
            }

            previousKey = key;
            attributes[key] = entry.Text(0x81, "attribute value", VscRules.CheckAttributeValue);
            entry.End();
        }

        if (attributes.Count is 0 or > VscRules.MaxAttributes)
        {
            throw Fail($"header: the attribute list must hold 1 to {VscRules.MaxAttributes} entries when present");
        }

        return attributes.ToImmutable();
    }

    private StoredKey ReadKey(Fields entry)
    {
        byte slot = entry.Byte(0x80, "slot");
        string where = $"secret-key area, slot {slot:X2}";
        byte algorithm = entry.Byte(0x81, "algorithm");
        byte pinPolicy = entry.Byte(0x82, "PIN policy");
        byte touchPolicy = entry.Byte(0x83, "touch policy");
        byte origin = entry.Byte(0x84, "origin");
        Check(VscRules.CheckOrigin(origin), where);
        var protection = entry.Code(0x85, "protection", VscCodec.ProtectionCodes);
        if (protection != VscRules.ProtectionFor(slot, pinPolicy))
        {
            throw Fail($"{where}: protection {protection} does not match PIN policy {pinPolicy}");
        }

        var spki = entry.Bytes(0x86, "public key", 1, VscRules.MaxKeyBlobLength);
        Check(VscRules.CheckDerSequence(spki, "public key"), where);
        SealedItem? sealedKey = null;
        byte[]? plain = null;
        if (protection == KeyProtection.Pin)
        {
            sealedKey = ReadEnvelope(entry.Area(VscCodec.EnvelopeTag, $"slot {slot:X2} key envelope"), VscRules.MaxKeyBlobLength);
        }
        else
        {
            plain = entry.Bytes(0x88, "private key", 1, VscRules.MaxKeyBlobLength);
            Check(VscRules.CheckDerSequence(plain, "private key"), where);
        }

        entry.End();
        return new StoredKey(new VscKeyInfo(slot, algorithm, pinPolicy, touchPolicy, origin, spki, protection), sealedKey, plain);
    }

    private SealedItem ReadEnvelope(Fields envelope, int maxCiphertext)
    {
        var ephemeral = envelope.Bytes(0x80, "ephemeral public key", VscCrypto.PointLength, VscCrypto.PointLength);
        if (!VscCrypto.IsValidPoint(ephemeral))
        {
            throw Fail($"{envelope.Where}: ephemeral public key is not a valid P-256 point");
        }

        var item = new SealedItem(
            ephemeral,
            envelope.Bytes(0x81, "nonce", VscCrypto.NonceLength, VscCrypto.NonceLength),
            envelope.Bytes(0x82, "ciphertext", 0, maxCiphertext),
            envelope.Bytes(0x83, "authentication tag", VscCrypto.TagLength, VscCrypto.TagLength));
        envelope.End();
        return item;
    }

    private WrappedKey ReadWrap(Fields wrap, string what)
    {
        byte kdf = wrap.Byte(0x80, "KDF");
        if (kdf != VscCodec.KdfPbkdf2Sha256)
        {
            throw Fail($"password area: {what} uses unknown KDF {kdf}");
        }

        uint iterations = wrap.UInt32(0x81, "iterations");
        uint minimum = allowWeakKdf ? 1u : VscCrypto.MinIterations;
        if (iterations < minimum)
        {
            throw Fail($"password area: {what} uses {iterations} PBKDF2 iterations, fewer than the minimum {minimum}");
        }

        if (iterations > VscCrypto.MaxIterations)
        {
            throw Fail($"password area: {what} uses {iterations} PBKDF2 iterations, more than the maximum {VscCrypto.MaxIterations}");
        }

        var result = new WrappedKey(
            (int)iterations,
            wrap.Bytes(0x82, "salt", VscCrypto.SaltLength, VscCrypto.SaltLength),
            wrap.Bytes(0x83, "nonce", VscCrypto.NonceLength, VscCrypto.NonceLength),
            wrap.Bytes(0x84, "wrapped key", VscCrypto.KeyLength, VscCrypto.KeyLength),
            wrap.Bytes(0x85, "authentication tag", VscCrypto.TagLength, VscCrypto.TagLength));
        wrap.End();
        return result;
    }

    private ManagementKeyData ReadManagementKey(Fields fields)
    {
        byte algorithm = fields.Byte(0x80, "algorithm");
        var key = fields.Bytes(0x81, "key", 1, 64);
        Check(VscRules.CheckManagementKey(algorithm, key.Length), "password area");
        bool touch = fields.Bool(0x82, "touch flag");
        bool isDefault = fields.Bool(0x83, "is-default flag");
        fields.End();
        if (isDefault != VirtualSmartCard.IsDefaultManagementKey(key))
        {
            throw Fail("password area: the management key's is-default flag does not match the key");
        }

        return new ManagementKeyData(algorithm, key, touch, isDefault);
    }

    private void CheckCounter(int max, int left, string what)
    {
        Check(VscRules.CheckRetries(max, what), "password area");
        if (left > max)
        {
            throw Fail($"password area: {what} retries left ({left}) exceed the maximum ({max})");
        }
    }

    /// <summary>Entries are stored in strictly ascending order (one canonical encoding, no duplicates).</summary>
    private uint Ascending(uint? previous, uint current, string where, string what) =>
        previous >= current ? throw Fail($"{where}: {what} are not in strictly ascending order") : current;

    private void Check(string? problem, string where)
    {
        if (problem is not null)
        {
            throw Fail($"{where}: {problem}");
        }
    }

    /// <summary>The children of one constructed object, read strictly in order; every read names the field on failure.</summary>
    private sealed class Fields
    {
        private readonly VscDecoder _decoder;
        private readonly IReadOnlyList<TlvNode> _nodes;
        private int _next;

        public Fields(VscDecoder decoder, IReadOnlyList<TlvNode> nodes, string where)
        {
            _decoder = decoder;
            _nodes = nodes;
            Where = where;
        }

        public string Where { get; }

        public Fields Area(uint tag, string name) => Open(Required(tag, name), name);

        public Fields? OptionalArea(uint tag, string name) => Optional(tag) is { } node ? Open(node, name) : null;

        /// <summary>All remaining children, each an entry (tag A0) opened as fields; anything else is refused.</summary>
        public List<Fields> Entries(string name)
        {
            var entries = new List<Fields>();
            while (_next < _nodes.Count)
            {
                entries.Add(Open(Required(VscCodec.EntryTag, "entry"), $"{name}, entry {entries.Count + 1}"));
            }

            return entries;
        }

        public void End()
        {
            if (_next < _nodes.Count)
            {
                var node = _nodes[_next];
                throw _decoder.Fail($"{Where}: unexpected tag {node.Tag:X2} at byte {node.Offset}");
            }
        }

        public byte[] Bytes(uint tag, string name, int min, int max) => Check(Required(tag, name), name, min, max);

        public byte[]? OptionalBytes(uint tag, string name, int min, int max) =>
            Optional(tag) is { } node ? Check(node, name, min, max) : null;

        public byte Byte(uint tag, string name) => Bytes(tag, name, 1, 1)[0];

        /// <summary>An enum stored as its 1-based position in <paramref name="codes"/>.</summary>
        public T Code<T>(uint tag, string name, T[] codes)
        {
            byte code = Byte(tag, name);
            return code >= 1 && code <= codes.Length ? codes[code - 1] : throw _decoder.Fail($"{Where}: unknown {name} {code}");
        }

        public bool Bool(uint tag, string name) => Byte(tag, name) switch
        {
            0 => false,
            1 => true,
            var b => throw _decoder.Fail($"{Where}: {name} is {b}, not 0 or 1"),
        };

        public uint UInt32(uint tag, string name) => BinaryPrimitives.ReadUInt32BigEndian(Bytes(tag, name, 4, 4));

        public DateTimeOffset Time(uint tag, string name)
        {
            long ms = BinaryPrimitives.ReadInt64BigEndian(Bytes(tag, name, 8, 8));
            if (ms < 0 || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                throw _decoder.Fail($"{Where}: {name} is out of range");
            }

            return DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }

        public string Text(uint tag, string name, Func<string, string?> check) => Decode(Required(tag, name), name, check);

        public string? OptionalText(uint tag, string name, Func<string, string?> check) =>
            Optional(tag) is { } node ? Decode(node, name, check) : null;

        private TlvNode Required(uint tag, string name) =>
            Optional(tag) ?? throw _decoder.Fail(_next < _nodes.Count
                ? $"{Where}: expected {name} (tag {tag:X2}) but found tag {_nodes[_next].Tag:X2} at byte {_nodes[_next].Offset}"
                : $"{Where}: {name} (tag {tag:X2}) is missing");

        private TlvNode? Optional(uint tag) =>
            _next < _nodes.Count && _nodes[_next].Tag == tag ? _nodes[_next++] : null;

        private Fields Open(TlvNode node, string name)
        {
            try
            {
                return new Fields(_decoder, node.Children, name);
            }
            catch (CardFormatException ex)
            {
                throw _decoder.Fail($"{name}: malformed: {ex.Message}", ex);
            }
        }

        private byte[] Check(TlvNode node, string name, int min, int max)
        {
            int length = node.Value.Length;
            if (length < min || length > max)
            {
                string expected = min == max ? $"{min}" : $"{min} to {max}";
                throw _decoder.Fail($"{Where}: {name} is {length} bytes, expected {expected} (at byte {node.Offset})");
            }

            return node.Value.ToArray();
        }

        private string Decode(TlvNode node, string name, Func<string, string?> check)
        {
            string text;
            try
            {
                text = _strictUtf8.GetString(node.Value.Span);
            }
            catch (DecoderFallbackException ex)
            {
                throw _decoder.Fail($"{Where}: {name} is not valid UTF-8 (at byte {node.Offset})", ex);
            }

            if (check(text) is { } problem)
            {
                throw _decoder.Fail($"{Where}: {problem}");
            }

            return text;
        }
    }
}
