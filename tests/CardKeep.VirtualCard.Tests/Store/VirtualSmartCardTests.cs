using System.Security.Cryptography;
using CardKeep.VirtualCard.Store;
using static CardKeep.VirtualCard.Tests.Store.TestCards;

namespace CardKeep.VirtualCard.Tests.Store;

public sealed class VirtualSmartCardTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Create_Defaults_YubiKeyLikeStateAndPrivateFile()
    {
        using var card = Create(_dir);

        var header = card.Header;
        Assert.Equal(1, header.FormatVersion);
        Assert.Equal("test-card", header.Id);
        Assert.Equal("Test card", header.Label);
        Assert.Equal("PIV", header.CardType);
        Assert.Equal(VscState.Enabled, header.State);
        Assert.Equal(VscRole.Standalone, header.Role);
        Assert.Null(header.Parent);
        Assert.Equal("pin-for-private", header.AccessConditions);
        Assert.Empty(header.Attributes);
        Assert.Equal(header.Created, header.Modified);
        Assert.Equal(TimeSpan.Zero, header.Created.Offset);
        Assert.True(VscSerial.IsVirtual(card.Serial));
        Assert.Equal(16, card.CardGuid.Length);
        Assert.Equal((3, 3, 3, 3), (card.PinRetriesLeft, card.PinRetriesMax, card.PukRetriesLeft, card.PukRetriesMax));
        Assert.True(card.PinIsDefault);
        Assert.True(card.PukIsDefault);
        Assert.Equal(VirtualSmartCard.ManagementKeyTripleDes, card.ManagementKeyAlgorithm);
        Assert.True(card.ManagementKeyIsDefault);
        Assert.False(card.ManagementKeyTouch);
        Assert.Equal(Convert.FromHexString("010203040506070801020304050607080102030405060708"), card.GetManagementKey());
        Assert.Equal(WeakIterations, card.PinKdfIterations);
        Assert.Empty(card.PublicObjectTags);
        Assert.Empty(card.PrivateObjectTags);
        Assert.Empty(card.Keys);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, ModeOf(card.Path));
        Assert.Equal(VscCodec.Magic.ToArray(), File.ReadAllBytes(card.Path)[..6]);
    }

    [Fact]
    public void Create_ProductionKdf_Default600000AndWeakerWrapsRaisedOnUse()
    {
        using var production = VirtualSmartCard.Create(_dir.File("prod.vsc"), new VscCreateOptions { Id = "prod" });
        Assert.Equal(600_000, VirtualSmartCard.DefaultKdfIterations);
        Assert.Equal(600_000, production.PinKdfIterations);
        Assert.Equal(600_000, production.PukKdfIterations);

        // A file written with an older, lower (but still accepted) count is raised to the default on the next PIN use.
        using var older = VirtualSmartCard.Create(_dir.File("older.vsc"), new VscCreateOptions { Id = "older", Iterations = 100_000 });
        Assert.Equal(100_000, older.PinKdfIterations);
        using (Verified(older.VerifyPin("123456"u8)))
        {
        }

        using var reopened = VirtualSmartCard.Open(older.Path);
        Assert.Equal(600_000, reopened.PinKdfIterations);
        Assert.Equal(100_000, reopened.PukKdfIterations);
    }

    [Fact]
    public void Create_WeakIterationsWithoutTestFlag_Throws()
    {
        var options = Options() with { AllowWeakKdfForTests = false };

        Assert.Throws<ArgumentOutOfRangeException>(() => VirtualSmartCard.Create(_dir.File("weak.vsc"), options));
        Assert.False(File.Exists(_dir.File("weak.vsc")));
    }

    [Fact]
    public void Open_WeakKdfFileWithoutTestFlag_RefusedNamingIterations()
    {
        string path;
        using (var card = Create(_dir))
        {
            path = card.Path;
        }

        var ex = Assert.Throws<VscFormatException>(() => VirtualSmartCard.Open(path));
        Assert.Contains("1000 PBKDF2 iterations, fewer than the minimum 100000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_FileExists_Throws()
    {
        using (Create(_dir))
        {
        }

        Assert.Throws<VscException>(() => Create(_dir));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("has space")]
    public void Create_InvalidId_Throws(string id)
    {
        Assert.Throws<ArgumentException>(() => Create(_dir, Options(id)));
    }

    [Fact]
    public void Create_OutOfRangeSerial_Throws()
    {
        Assert.Throws<ArgumentException>(() => Create(_dir, Options() with { Serial = 12345 }));
    }

    [Fact]
    public void Header_AllFields_RoundTripThroughReopen()
    {
        var guid = RandomNumberGenerator.GetBytes(16);
        var atr = Convert.FromHexString("3B8B8001" + "80F9A000000308000010" + "00C8");
        var options = Options() with
        {
            Label = "Mike's backup ✓",
            Role = VscRole.Backup,
            Parent = "card:00001079",
            State = VscState.Disabled,
            Serial = 2_012_345_678,
            CardGuid = guid,
            SourceSerial = "00001079",
            SourceAtr = atr,
            Attributes = new Dictionary<string, string> { ["owner"] = "mike", ["dept:id"] = "42" },
            AccessConditions = "pin-for-private,mgmt-for-write",
        };
        using var card = Reopen(Create(_dir, options));

        var header = card.Header;
        Assert.Equal("Mike's backup ✓", header.Label);
        Assert.Equal(VscRole.Backup, header.Role);
        Assert.Equal("card:00001079", header.Parent);
        Assert.Equal(VscState.Disabled, header.State);
        Assert.Equal("pin-for-private,mgmt-for-write", header.AccessConditions);
        Assert.Equal(["dept:id", "owner"], header.Attributes.Keys);
        Assert.Equal("mike", header.Attributes["owner"]);
        Assert.Equal(2_012_345_678u, card.Serial);
        Assert.Equal(guid, card.CardGuid.ToArray());
        Assert.Equal("00001079", card.SourceSerial);
        Assert.Equal(atr, card.SourceAtr.ToArray());
    }

    [Fact]
    public void Setters_PersistAndAdvanceModified()
    {
        using var card = Create(_dir);
        var created = card.Header.Created;
        Thread.Sleep(5);

        card.SetLabel("renamed");
        card.SetState(VscState.Disabled);
        card.SetHierarchy(VscRole.Emergency, "card:42");
        card.SetAttribute("k", "v");
        card.SetAttribute("gone", "x");
        card.SetAttribute("gone", null);

        using var reopened = Reopen(card);
        var header = reopened.Header;
        Assert.Equal("renamed", header.Label);
        Assert.Equal(VscState.Disabled, header.State);
        Assert.Equal(VscRole.Emergency, header.Role);
        Assert.Equal("card:42", header.Parent);
        Assert.Equal(new Dictionary<string, string> { ["k"] = "v" }, header.Attributes);
        Assert.Equal(created, header.Created);
        Assert.True(header.Modified > created);
    }

    [Theory]
    [InlineData("bad\nlabel")]
    [InlineData("\u0007")]
    public void SetLabel_ControlCharacters_Throws(string label)
    {
        using var card = Create(_dir);

        Assert.Throws<ArgumentException>(() => card.SetLabel(label));
    }

    [Fact]
    public void SetLabel_TooLong_Throws()
    {
        using var card = Create(_dir);

        Assert.Throws<ArgumentException>(() => card.SetLabel(new string('x', 129)));
        card.SetLabel(new string('x', 128));
    }

    [Fact]
    public void PublicObjects_PutReplaceDelete_RoundTrip()
    {
        using var card = Create(_dir);
        card.PutPublicObject(0x5FC102, [0x53, 0x02, 0x30, 0x00]);
        card.PutPublicObject(0x7E, "discovery"u8);
        card.PutPublicObject(0x5FC105, new byte[3000]);
        card.PutPublicObject(0x5FC107, []);
        card.PutPublicObject(0x7E, "replaced"u8);

        using var reopened = Reopen(card);
        Assert.Equal([0x7Eu, 0x5FC102, 0x5FC105, 0x5FC107], reopened.PublicObjectTags);
        Assert.Equal("replaced"u8.ToArray(), reopened.GetPublicObject(0x7E));
        Assert.Equal([0x53, 0x02, 0x30, 0x00], reopened.GetPublicObject(0x5FC102)!);
        Assert.Equal(new byte[3000], reopened.GetPublicObject(0x5FC105));
        Assert.Equal([], reopened.GetPublicObject(0x5FC107)!);
        Assert.Null(reopened.GetPublicObject(0x5FC10A));
        Assert.True(reopened.DeleteObject(0x5FC102));
        Assert.False(reopened.DeleteObject(0x5FC102));
        Assert.Null(Reopen(reopened).GetPublicObject(0x5FC102));
    }

    [Fact]
    public void PublicObject_ReturnedArray_IsACopy()
    {
        using var card = Create(_dir);
        card.PutPublicObject(1, [1, 2, 3]);

        card.GetPublicObject(1)![0] = 99;

        Assert.Equal([1, 2, 3], card.GetPublicObject(1)!);
    }

    [Fact]
    public void PrivateObject_WithUnlock_RoundTripsAndIsNotInFile()
    {
        var secret = "Private Info: account 12345678-SECRET"u8.ToArray();
        using var card = Create(_dir);
        card.PutPrivateObject(0x5FC109, secret);

        using var reopened = Reopen(card);
        Assert.Equal([0x5FC109u], reopened.PrivateObjectTags);
        Assert.Empty(reopened.PublicObjectTags);
        Assert.Null(reopened.GetPublicObject(0x5FC109));
        Assert.False(Contains(File.ReadAllBytes(reopened.Path), secret));
        using var unlock = Unlock(reopened);
        Assert.Equal(secret, reopened.GetPrivateObject(0x5FC109, unlock));
        Assert.Null(reopened.GetPrivateObject(0x5FC10A, unlock));
    }

    [Fact]
    public void PrivateObject_DisposedUnlock_ThrowsPinRequired()
    {
        using var card = Create(_dir);
        card.PutPrivateObject(0x5FC109, [1, 2, 3]);
        var unlock = Unlock(card);
        unlock.Dispose();

        Assert.Throws<VscPinRequiredException>(() => card.GetPrivateObject(0x5FC109, unlock));
    }

    [Fact]
    public void PrivateObject_UnlockOfAnotherCard_Throws()
    {
        using var card = Create(_dir);
        using var other = Create(_dir, Options("other"), "other.vsc");
        card.PutPrivateObject(0x5FC109, [1, 2, 3]);
        using var otherUnlock = Unlock(other);

        Assert.Throws<ArgumentException>(() => card.GetPrivateObject(0x5FC109, otherUnlock));
    }

    [Fact]
    public void PutObject_TagInOtherArea_MovesIt()
    {
        using var card = Create(_dir);
        card.PutPublicObject(0x5FC109, [1]);

        card.PutPrivateObject(0x5FC109, [2]);
        Assert.Empty(card.PublicObjectTags);
        Assert.Equal([0x5FC109u], card.PrivateObjectTags);

        card.PutPublicObject(0x5FC109, [3]);
        Assert.Empty(card.PrivateObjectTags);
        Assert.True(card.DeleteObject(0x5FC109));
        Assert.Empty(card.PublicObjectTags);
    }

    [Fact]
    public void VerifyPin_Correct_VerifiedAndCounterUnchanged()
    {
        using var card = Create(_dir);

        using var unlock = Unlock(card);

        Assert.Equal("test-card", unlock.CardId);
        Assert.Equal(3, card.PinRetriesLeft);
        Assert.True(unlock.Matches("123456"u8));
        Assert.False(unlock.Matches("123457"u8));
    }

    [Fact]
    public void VerifyPin_Wrong_CounterDecreasedAndPersistedBeforeReturn()
    {
        using var card = Create(_dir);

        Assert.Equal(2, Wrong(card.VerifyPin("000000"u8)));

        using var other = VirtualSmartCard.Open(card.Path, Weak);
        Assert.Equal(2, other.PinRetriesLeft);
    }

    [Fact]
    public void VerifyPin_ThreeWrong_BlocksAndRefusesEvenTheRightPin()
    {
        using var card = Create(_dir);

        Assert.Equal(2, Wrong(card.VerifyPin("1"u8)));
        Assert.Equal(1, Wrong(card.VerifyPin("12"u8)));
        Assert.Equal(0, Wrong(card.VerifyPin("123"u8)));
        Assert.IsType<PinResult.Blocked>(card.VerifyPin("123456"u8));
        Assert.IsType<PinResult.Blocked>(card.ChangePin("123456"u8, "654321"u8));

        using var reopened = Reopen(card);
        Assert.Equal(0, reopened.PinRetriesLeft);
        Assert.IsType<PinResult.Blocked>(reopened.VerifyPin("123456"u8));
    }

    [Fact]
    public void VerifyPin_RightAfterWrong_RestoresCounter()
    {
        using var card = Create(_dir);
        Wrong(card.VerifyPin("999999"u8));

        using (Unlock(card))
        {
        }

        Assert.Equal(3, Reopen(card).PinRetriesLeft);
    }

    [Fact]
    public void VerifyPin_ProcessDiesAfterTheAttemptStarts_CounterStaysDecreased()
    {
        using (var card = Create(_dir))
        {
            int saves = 0;
            card.BeforeRenameForTests = _ =>
            {
                // Save 1 is the decrement before the PIN is tried; "die" before save 2 (the restore) lands.
                if (++saves == 2)
                {
                    throw new IOException("simulated crash");
                }
            };

            Assert.Throws<IOException>(() => card.VerifyPin("123456"u8));
        }

        using var reopened = VirtualSmartCard.Open(_dir.File("card.vsc"), Weak);
        Assert.Equal(2, reopened.PinRetriesLeft);
    }

    [Fact]
    public void VerifyPin_WithMatchingCurrentUnlock_NoSaveAndNewUnlock()
    {
        using var card = Create(_dir);
        using var first = Unlock(card);
        int saves = 0;
        card.BeforeRenameForTests = _ => saves++;

        var result = card.VerifyPin("123456"u8, first);

        using var second = Verified(result);
        Assert.NotSame(first, second);
        Assert.Equal(0, saves);
        first.Dispose();
        Assert.True(second.Matches("123456"u8));
    }

    [Fact]
    public void VerifyPin_WrongPinWithCurrentUnlock_StillCountsDown()
    {
        using var card = Create(_dir);
        using var first = Unlock(card);

        Assert.Equal(2, Wrong(card.VerifyPin("111111"u8, first)));
        Assert.Equal(2, VirtualSmartCard.Open(card.Path, Weak).PinRetriesLeft);
    }

    [Fact]
    public void VerifyPin_StaleUnlockAfterPinChange_OldPinRefused()
    {
        using var card = Create(_dir);
        using var old = Unlock(card);
        using (Verified(card.ChangePin("123456"u8, "24681357"u8)))
        {
        }

        Assert.True(old.Matches("123456"u8));
        Assert.Equal(2, Wrong(card.VerifyPin("123456"u8, old)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    public void VerifyPin_BadLength_ThrowsWithoutCounting(int length)
    {
        using var card = Create(_dir);

        Assert.Throws<ArgumentException>(() => card.VerifyPin(new byte[length]));
        Assert.Equal(3, card.PinRetriesLeft);
    }

    [Fact]
    public void VerifyPin_WrongPin_ModifiedTimeUnchanged()
    {
        using var card = Create(_dir);
        var modified = card.Header.Modified;
        Thread.Sleep(5);

        Wrong(card.VerifyPin("000000"u8));

        Assert.Equal(modified, Reopen(card).Header.Modified);
    }

    [Fact]
    public void Unlock_Dispose_NoLongerMatchesAndToStringHasNoSecret()
    {
        using var card = Create(_dir);
        var unlock = Unlock(card);

        Assert.DoesNotContain("123456", unlock.ToString(), StringComparison.Ordinal);
        unlock.Dispose();
        unlock.Dispose();

        Assert.True(unlock.IsDisposed);
        Assert.False(unlock.Matches("123456"u8));
        Assert.Contains("disposed", unlock.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ToStrings_NeverShowSecrets()
    {
        var options = Options() with { Pin = "S3cr3tPn"u8.ToArray(), Puk = "PUKPUK99"u8.ToArray(), ManagementKey = new byte[24] };
        using var card = Create(_dir, options);
        var wrong = card.VerifyPin("Gue55ed!"u8);

        foreach (string text in new[] { options.ToString(), card.ToString(), wrong.ToString(), card.Header.ToString() })
        {
            Assert.DoesNotContain("S3cr3tPn", text, StringComparison.Ordinal);
            Assert.DoesNotContain("PUKPUK99", text, StringComparison.Ordinal);
            Assert.DoesNotContain("Gue55ed", text, StringComparison.Ordinal);
            Assert.DoesNotContain("[6]", text, StringComparison.Ordinal);
        }

        Assert.Equal("VscCreateOptions { Id = test-card, Label = Test card }", options.ToString());
    }

    [Fact]
    public void ChangePin_RightOldPin_NewPinWorksOldFails()
    {
        using var card = Create(_dir);
        card.PutPrivateObject(0x5FC109, [7, 7]);

        using (var changed = Verified(card.ChangePin("123456"u8, "A1b2C3d4"u8)))
        {
            Assert.True(changed.Matches("A1b2C3d4"u8));
        }

        using var reopened = Reopen(card);
        Assert.False(reopened.PinIsDefault);
        Assert.Equal(2, Wrong(reopened.VerifyPin("123456"u8)));
        using var unlock = Unlock(reopened, "A1b2C3d4");
        Assert.Equal([7, 7], reopened.GetPrivateObject(0x5FC109, unlock)!);
        Assert.Equal(3, reopened.PinRetriesLeft);
    }

    [Fact]
    public void ChangePin_WrongOldPin_CountsDownAndKeepsPin()
    {
        using var card = Create(_dir);

        Assert.Equal(2, Wrong(card.ChangePin("654321"u8, "111111"u8)));

        using (Unlock(card))
        {
        }
    }

    [Fact]
    public void ChangePin_BackToDefault_PinIsDefaultAgain()
    {
        using var card = Create(_dir);
        Verified(card.ChangePin("123456"u8, "87654321"u8)).Dispose();
        Assert.False(card.PinIsDefault);

        Verified(card.ChangePin("87654321"u8, "123456"u8)).Dispose();

        Assert.True(card.PinIsDefault);
    }

    [Fact]
    public void UnblockPin_BlockedPin_NewPinWorksAndPrivateDataStaysReadable()
    {
        using var card = Create(_dir);
        card.PutPrivateObject(0x5FC109, "keep me"u8);
        var (pkcs8, spki) = EcKey(ECCurve.NamedCurves.nistP256);
        card.PutKey(0x9A, 0x11, 2, 1, 1, pkcs8, spki);
        for (int i = 0; i < 3; i++)
        {
            card.VerifyPin("000000"u8);
        }

        Assert.IsType<PinResult.Blocked>(card.VerifyPin("123456"u8));

        using (Verified(card.UnblockPin("12345678"u8, "13572468"u8)))
        {
        }

        using var reopened = Reopen(card);
        Assert.Equal(3, reopened.PinRetriesLeft);
        Assert.Equal(3, reopened.PukRetriesLeft);
        using var unlock = Unlock(reopened, "13572468");
        Assert.Equal("keep me"u8.ToArray(), reopened.GetPrivateObject(0x5FC109, unlock));
        Assert.Equal(pkcs8, reopened.UsePrivateKey(0x9A, unlock, k => k.ToArray()));
    }

    [Fact]
    public void UnblockPin_WrongPuk_CountsDownPukUntilBlocked()
    {
        using var card = Create(_dir);

        Assert.Equal(2, Wrong(card.UnblockPin("00000000"u8, "111111"u8)));
        Assert.Equal(1, Wrong(card.UnblockPin("00000000"u8, "111111"u8)));
        Assert.Equal(0, Wrong(card.UnblockPin("00000000"u8, "111111"u8)));
        Assert.IsType<PinResult.Blocked>(card.UnblockPin("12345678"u8, "111111"u8));
        Assert.IsType<PinResult.Blocked>(card.ChangePuk("12345678"u8, "87654321"u8));

        using var reopened = Reopen(card);
        Assert.Equal(0, reopened.PukRetriesLeft);
        Assert.Equal(3, reopened.PinRetriesLeft);
        using (Unlock(reopened))
        {
        }
    }

    [Fact]
    public void ChangePuk_RightOldPuk_NewPukUnblocks()
    {
        using var card = Create(_dir);

        using (var result = Verified(card.ChangePuk("12345678"u8, "ABCDEFGH"u8)))
        {
            Assert.False(result.Matches("12345678"u8));
        }

        Assert.False(card.PukIsDefault);
        Assert.Equal(2, Wrong(card.UnblockPin("12345678"u8, "222222"u8)));
        using (Verified(card.UnblockPin("ABCDEFGH"u8, "222222"u8)))
        {
        }

        using (Unlock(Reopen(card), "222222"))
        {
        }
    }

    [Fact]
    public void SetRetries_WithUnlock_ResetsPinAndPukToDefaults()
    {
        using var card = Create(_dir);
        Verified(card.ChangePin("123456"u8, "99999999"u8)).Dispose();
        Verified(card.ChangePuk("12345678"u8, "77777777"u8)).Dispose();
        card.PutPrivateObject(0x5FC109, [1]);
        using (var unlock = Unlock(card, "99999999"))
        {
            card.SetRetries(5, 4, unlock);
        }

        using var reopened = Reopen(card);
        Assert.Equal((5, 5, 4, 4), (reopened.PinRetriesLeft, reopened.PinRetriesMax, reopened.PukRetriesLeft, reopened.PukRetriesMax));
        Assert.True(reopened.PinIsDefault);
        Assert.True(reopened.PukIsDefault);
        using var defaultUnlock = Unlock(reopened);
        Assert.Equal([1], reopened.GetPrivateObject(0x5FC109, defaultUnlock)!);
        Assert.Equal(3, Wrong(reopened.UnblockPin("77777777"u8, "123456"u8)));
    }

    [Fact]
    public void SetRetries_DisposedUnlock_ThrowsPinRequired()
    {
        using var card = Create(_dir);
        var unlock = Unlock(card);
        unlock.Dispose();

        Assert.Throws<VscPinRequiredException>(() => card.SetRetries(5, 5, unlock));
        using var live = Unlock(card);
        Assert.Throws<ArgumentException>(() => card.SetRetries(0, 5, live));
    }

    [Fact]
    public void Reset_Everything_BackToDefaultsIdentityKept()
    {
        var (pkcs8, spki) = EcKey(ECCurve.NamedCurves.nistP256);
        using var card = Create(_dir, Options() with { Role = VscRole.Backup, Parent = "card:7", Pin = "11111111"u8.ToArray(), PinRetries = 5 });
        card.PutPublicObject(0x5FC102, [1]);
        card.PutPrivateObject(0x5FC109, [2]);
        card.PutKey(0x9A, 0x11, 2, 1, 1, pkcs8, spki);
        card.SetManagementKey(VirtualSmartCard.ManagementKeyAes256, RandomNumberGenerator.GetBytes(32), touch: true);
        card.SetAttribute("owner", "x");
        var before = card.Header;
        uint serial = card.Serial;
        var guid = card.CardGuid.ToArray();
        var oldUnlock = Unlock(card, "11111111");

        card.Reset();

        using var reopened = Reopen(card);
        var after = reopened.Header;
        Assert.Equal((before.Id, before.Label, before.Role, before.Parent), (after.Id, after.Label, after.Role, after.Parent));
        Assert.Equal("x", after.Attributes["owner"]);
        Assert.Equal(serial, reopened.Serial);
        Assert.Equal(guid, reopened.CardGuid.ToArray());
        Assert.Empty(reopened.PublicObjectTags);
        Assert.Empty(reopened.PrivateObjectTags);
        Assert.Empty(reopened.Keys);
        Assert.True(reopened.ManagementKeyIsDefault);
        Assert.Equal(VirtualSmartCard.ManagementKeyTripleDes, reopened.ManagementKeyAlgorithm);
        Assert.Equal((3, 3, 3, 3), (reopened.PinRetriesLeft, reopened.PinRetriesMax, reopened.PukRetriesLeft, reopened.PukRetriesMax));
        Assert.True(reopened.PinIsDefault && reopened.PukIsDefault);
        using (Unlock(reopened))
        {
        }

        reopened.PutPrivateObject(0x5FC109, [3]);
        Assert.Throws<ArgumentException>(() => reopened.GetPrivateObject(0x5FC109, oldUnlock));
    }

    [Fact]
    public void ManagementKey_SetAes256_PersistsAndIsNotDefault()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        using var card = Create(_dir);

        card.SetManagementKey(VirtualSmartCard.ManagementKeyAes256, key, touch: true);

        using var reopened = Reopen(card);
        Assert.Equal(VirtualSmartCard.ManagementKeyAes256, reopened.ManagementKeyAlgorithm);
        Assert.Equal(key, reopened.GetManagementKey());
        Assert.False(reopened.ManagementKeyIsDefault);
        Assert.True(reopened.ManagementKeyTouch);
    }

    [Fact]
    public void ManagementKey_DefaultBytesAsAes192_CountsAsDefault()
    {
        using var card = Create(_dir);

        card.SetManagementKey(VirtualSmartCard.ManagementKeyAes192, VirtualSmartCard.DefaultManagementKey, touch: false);

        Assert.True(Reopen(card).ManagementKeyIsDefault);
    }

    [Theory]
    [InlineData(0x03, 16)]
    [InlineData(0x08, 24)]
    [InlineData(0x0C, 24)]
    [InlineData(0x07, 24)]
    public void SetManagementKey_WrongAlgorithmOrLength_Throws(byte algorithm, int length)
    {
        using var card = Create(_dir);

        Assert.Throws<ArgumentException>(() => card.SetManagementKey(algorithm, new byte[length], touch: false));
        Assert.True(card.ManagementKeyIsDefault);
    }

    [Fact]
    public void ManagementKey_StoredInTheClear_AsDocumented()
    {
        var key = RandomNumberGenerator.GetBytes(24);
        using var card = Create(_dir);

        card.SetManagementKey(VirtualSmartCard.ManagementKeyTripleDes, key, touch: false);

        Assert.True(Contains(File.ReadAllBytes(card.Path), key));
    }

    [Fact]
    public void OpenReadOnly_Mutations_Throw()
    {
        using (Create(_dir))
        {
        }

        using var card = VirtualSmartCard.Open(_dir.File("card.vsc"), Weak with { ReadOnly = true });

        Assert.True(card.IsReadOnly);
        Assert.Equal("test-card", card.Header.Id);
        Assert.Throws<InvalidOperationException>(() => card.SetLabel("x"));
        Assert.Throws<InvalidOperationException>(() => card.VerifyPin("123456"u8));
        Assert.Throws<InvalidOperationException>(() => card.PutPublicObject(1, [1]));
        Assert.Equal(3, card.PinRetriesLeft);
    }

    [Fact]
    public void Dispose_ThenUse_ThrowsObjectDisposed()
    {
        var card = Create(_dir);
        card.Dispose();
        card.Dispose();

        Assert.Throws<ObjectDisposedException>(() => card.Header);
        Assert.Throws<ObjectDisposedException>(() => card.VerifyPin("123456"u8));
        Assert.Contains("test-card", card.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Create_CustomSecretsAndCounts_Applied()
    {
        var options = Options() with { Pin = "Pa55w0rd"u8.ToArray(), Puk = "0"u8.ToArray(), PinRetries = 10, PukRetries = 1 };
        using var card = Create(_dir, options);

        Assert.False(card.PinIsDefault);
        Assert.False(card.PukIsDefault);
        Assert.Equal((10, 1), (card.PinRetriesMax, card.PukRetriesMax));
        Assert.Equal(9, Wrong(card.VerifyPin("123456"u8)));
        using (Unlock(card, "Pa55w0rd"))
        {
        }

        Assert.Equal(0, Wrong(card.ChangePuk("1"u8, "2"u8)));
    }
}
