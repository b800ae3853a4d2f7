using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Store;
using Spectre.Console;

namespace CardKeep.Cli.Commands;

/// <summary><c>cardkeep vsc …</c>: create and look after virtual smart cards in the store.</summary>
internal static partial class VscCommands
{
    static partial void AddLive(Command vsc);

    private static readonly Argument<string> VscArgument = new("VSC") { Description = "The VSC's identifier or its (unique) label" };

    public static void Add(RootCommand root)
    {
        var vsc = new Command("vsc", "Virtual smart cards: encrypted card files that can be inserted into pcscd as PIV cards") { Paths.StoreOption };
        vsc.Add(New());
        vsc.Add(List());
        vsc.Add(Show());
        vsc.Add(Export());
        vsc.Add(Import());
        vsc.Add(SetState("disable", "Disable a VSC: it cannot be inserted or used until enabled", VscState.Disabled));
        vsc.Add(SetState("enable", "Enable a disabled VSC", VscState.Enabled));
        vsc.Add(Delete());
        vsc.Add(ChangePin());
        vsc.Add(UnblockPin());
        AddLive(vsc);
        vsc.Add(Keygen());
        vsc.Add(TransferKeys());
        root.Add(vsc);
    }

    private static Command New()
    {
        var id = new Option<string?>("--id") { Description = "Identifier (letters, digits, . _ -); default VSC-<serial>" };
        var label = new Option<string?>("--label") { Description = "Human label" };
        var role = new Option<VscRole>("--role") { Description = "standalone, backup, escrow or emergency", DefaultValueFactory = _ => VscRole.Standalone };
        var parent = new Option<string?>("--parent") { Description = "The card this VSC backs up, e.g. card:00001079" };
        var pinRetries = new Option<int>("--pin-retries") { DefaultValueFactory = _ => 3, Description = "PIN tries before it blocks (1-15)" };
        var pukRetries = new Option<int>("--puk-retries") { DefaultValueFactory = _ => 3, Description = "PUK tries before it blocks (1-15)" };
        var disabled = new Option<bool>("--disabled") { Description = "Create it disabled (an emergency card kept until needed)" };
        var allowDefaults = new Option<bool>("--allow-default-codes") { Description = "Accept the factory PIN 123456 / PUK 12345678 (unsafe: the PUK alone unlocks a copied file)" };
        var pin = Secrets.Pin();
        var puk = Secrets.Puk();
        var mgmt = Secrets.ManagementKey();
        var command = new Command("new", "Create a VSC (a PIV card with empty slots) in the store")
        {
            id, label, role, parent, pin.Option, puk.Option, mgmt.Option, pinRetries, pukRetries, disabled, allowDefaults, CliSupport.JsonOption,
        };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            byte[] pinBytes = pin.Read(parse, confirm: true);
            byte[] pukBytes = puk.Read(parse, confirm: true);
            byte[] key = ReadManagementKey(parse, mgmt, out bool isDefault);
            try
            {
                bool defaultCodes = pinBytes.AsSpan().SequenceEqual(VirtualSmartCard.DefaultPin) || pukBytes.AsSpan().SequenceEqual(VirtualSmartCard.DefaultPuk);
                if (defaultCodes && !parse.GetValue(allowDefaults))
                {
                    throw new UsageException("the factory PIN (123456) or PUK (12345678) would let anyone holding a copy of this VSC file unlock it; " +
                        "choose your own (8 characters, letters and digits, resist offline guessing best) or add --allow-default-codes");
                }

                var store = Paths.Store(parse);
                using var card = store.Create(new VscCreateOptions
                {
                    Id = parse.GetValue(id),
                    Label = parse.GetValue(label) ?? string.Empty,
                    Role = parse.GetValue(role),
                    Parent = parse.GetValue(parent),
                    State = parse.GetValue(disabled) ? VscState.Disabled : VscState.Enabled,
                    Pin = pinBytes,
                    Puk = pukBytes,
                    ManagementKey = key,
                    PinRetries = parse.GetValue(pinRetries),
                    PukRetries = parse.GetValue(pukRetries),
                });
                if (isDefault)
                {
                    Console.Error.WriteLine("warning: the management key is the factory default (010203…08); anyone who can reach the inserted card can write to it. Change it with 'yubico-piv-tool -a set-mgm-key'.");
                }

                if (parse.GetValue(CliSupport.JsonOption))
                {
                    CliSupport.WriteJson(Describe(card));
                }
                else
                {
                    Console.WriteLine($"created {card.Header.Id} (serial {card.Serial}) in {store.DirectoryPath}");
                }

                return ExitCodes.Ok;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pinBytes);
                CryptographicOperations.ZeroMemory(pukBytes);
                CryptographicOperations.ZeroMemory(key);
            }
        }));
        return command;
    }

    internal static byte[] ReadManagementKey(ParseResult parse, SecretOption option, out bool isDefault)
    {
        string? given = parse.GetValue(option.Option) ?? Environment.GetEnvironmentVariable(option.EnvironmentVariable);
        isDefault = string.IsNullOrEmpty(given) || given.Equals("default", StringComparison.OrdinalIgnoreCase);
        if (isDefault)
        {
            return VirtualSmartCard.DefaultManagementKey.ToArray();
        }

        byte[] key;
        try
        {
            key = Convert.FromHexString(given!);
        }
        catch (FormatException)
        {
            throw new UsageException("the management key must be 48 hex digits (3DES, 24 bytes) or 'default'");
        }

        if (key.Length != 24)
        {
            CryptographicOperations.ZeroMemory(key);
            throw new UsageException($"the management key must be 24 bytes (48 hex digits) for 3DES, got {key.Length}");
        }

        return key;
    }

    private static Command List()
    {
        var command = new Command("list", "List the VSCs in the store (damaged files are listed as damaged, not opened)") { CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            var store = Paths.Store(parse);
            var listing = store.List();
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(listing.Select(l => new
                {
                    id = l.Id,
                    label = l.Label,
                    serial = l.Serial,
                    state = l.Damage is null ? l.State?.ToString().ToLowerInvariant() : "damaged",
                    role = l.Role?.ToString().ToLowerInvariant(),
                    parent = l.Parent,
                    damage = l.Damage,
                    path = l.Path,
                }));
                return ExitCodes.Ok;
            }

            if (listing.Count == 0)
            {
                Console.WriteLine($"no VSCs in {store.DirectoryPath}; create one with 'cardkeep vsc new'");
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("Id", "Label", "Serial", "State", "Role", "Backs up");
            foreach (var l in listing)
            {
                table.AddRow(
                    Markup.Escape(l.Id),
                    Markup.Escape(l.Label),
                    l.Serial?.ToString(CultureInfo.InvariantCulture) ?? string.Empty,
                    l.Damage is null ? (l.State?.ToString().ToLowerInvariant() ?? string.Empty) : "[red]damaged[/]: " + Markup.Escape(l.Damage),
                    l.Role?.ToString().ToLowerInvariant() ?? string.Empty,
                    Markup.Escape(l.Parent ?? string.Empty));
            }

            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Show()
    {
        var command = new Command("show", "Show a VSC: header, serial, objects, keys, PIN tries left (no secrets)") { VscArgument, CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            using var card = Paths.Store(parse).OpenReadOnly(parse.GetValue(VscArgument)!);
            var view = Describe(card);
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(view);
                return ExitCodes.Ok;
            }

            var h = card.Header;
            Console.WriteLine($"{h.Id}  \"{h.Label}\"  {h.CardType}  {h.State.ToString().ToLowerInvariant()}  serial {card.Serial} (software)");
            Console.WriteLine($"  role {h.Role.ToString().ToLowerInvariant()}{(h.Parent is null ? string.Empty : ", backs up " + h.Parent)}; created {h.Created:u}, modified {h.Modified:u}");
            Console.WriteLine($"  PIN tries left {card.PinRetriesLeft}/{card.PinRetriesMax}{(card.PinIsDefault ? " (default PIN)" : string.Empty)}, PUK tries left {card.PukRetriesLeft}/{card.PukRetriesMax}{(card.PukIsDefault ? " (default PUK)" : string.Empty)}");
            Console.WriteLine($"  management key {((PivAlgorithm)card.ManagementKeyAlgorithm).DisplayName()}{(card.ManagementKeyIsDefault ? " (factory default)" : string.Empty)}");
            foreach (var o in view.Objects)
            {
                Console.WriteLine($"  object {o.Tag} {o.Name} ({o.Area}{(o.Size is int s ? ", " + s.ToString(CultureInfo.InvariantCulture) + " bytes" : string.Empty)})");
            }

            foreach (var k in view.Keys)
            {
                Console.WriteLine($"  key {k.Slot} {k.Algorithm}, PIN policy {k.PinPolicy}, touch {k.TouchPolicy}, {k.Origin}, protected by {k.Protection}");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    internal sealed record ObjectView(string Tag, string Name, string Area, int? Size);

    internal sealed record KeyView(string Slot, string Algorithm, string PinPolicy, string TouchPolicy, string Origin, string Protection);

    internal sealed record CardView(
        string Id, string Label, string CardType, string State, uint Serial, string CardGuid, string Role, string? Parent,
        DateTimeOffset Created, DateTimeOffset Modified, int PinRetriesLeft, int PinRetriesMax, int PukRetriesLeft, int PukRetriesMax,
        string ManagementKeyAlgorithm, bool ManagementKeyIsDefault, IReadOnlyList<ObjectView> Objects, IReadOnlyList<KeyView> Keys);

    internal static CardView Describe(VirtualSmartCard card)
    {
        var h = card.Header;
        var objects = card.PublicObjectTags.Select(t => new ObjectView(TagText(t), PivDataObject.Find(t)?.Name ?? "object", "public", card.GetPublicObject(t)?.Length))
            .Concat(card.PrivateObjectTags.Select(t => new ObjectView(TagText(t), PivDataObject.Find(t)?.Name ?? "object", "private (PIN)", null)))
            .OrderBy(o => o.Tag, StringComparer.Ordinal)
            .ToList();
        var keys = card.Keys.OrderBy(k => k.Slot).Select(k => new KeyView(
            k.Slot.ToString("X2", CultureInfo.InvariantCulture),
            ((PivAlgorithm)k.Algorithm).DisplayName(),
            ((PinPolicy)k.PinPolicy).ToString().ToLowerInvariant(),
            ((TouchPolicy)k.TouchPolicy).ToString().ToLowerInvariant(),
            k.Origin == 1 ? "generated" : "imported",
            k.Protection == KeyProtection.Pin ? "PIN" : "file permissions only")).ToList();
        return new CardView(h.Id, h.Label, h.CardType, h.State.ToString().ToLowerInvariant(), card.Serial, Convert.ToHexString(card.CardGuid.Span),
            h.Role.ToString().ToLowerInvariant(), h.Parent, h.Created, h.Modified, card.PinRetriesLeft, card.PinRetriesMax, card.PukRetriesLeft,
            card.PukRetriesMax, ((PivAlgorithm)card.ManagementKeyAlgorithm).DisplayName(), card.ManagementKeyIsDefault, objects, keys);
    }

    private static string TagText(uint tag) => tag.ToString("X", CultureInfo.InvariantCulture);

    private static Command Export()
    {
        var file = new Argument<string>("FILE") { Description = "Where to write the exported VSC file" };
        var command = new Command("export", "Copy a VSC out of the store (checked first; it stays encrypted)") { VscArgument, file };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string written = Paths.Store(parse).Export(parse.GetValue(VscArgument)!, parse.GetValue(file)!);
            Console.WriteLine($"exported to {written}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Import()
    {
        var file = new Argument<string>("FILE") { Description = "A VSC file (as written by 'vsc export')" };
        var replace = new Option<bool>("--replace") { Description = "Replace a VSC with the same identifier" };
        var command = new Command("import", "Add a VSC file to the store after its consistency check") { file, replace };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            var header = Paths.Store(parse).Import(parse.GetValue(file)!, parse.GetValue(replace));
            Console.WriteLine($"imported {header.Id} ({header.State.ToString().ToLowerInvariant()})");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command SetState(string name, string description, VscState state)
    {
        var command = new Command(name, description) { VscArgument };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            using var card = Paths.Store(parse).Open(parse.GetValue(VscArgument)!);
            card.SetState(state);
            Console.WriteLine($"{card.Header.Id} is {state.ToString().ToLowerInvariant()}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Delete()
    {
        var yes = new Option<bool>("--yes") { Description = "Do not ask for confirmation" };
        var command = new Command("delete", "Delete a VSC from the store (its keys are gone for good)") { VscArgument, yes };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string name = parse.GetValue(VscArgument)!;
            if (!parse.GetValue(yes))
            {
                if (Console.IsInputRedirected)
                {
                    throw new UsageException("deleting a VSC needs confirmation: add --yes");
                }

                Console.Error.Write($"Delete {name} and every key in it? Type the identifier to confirm: ");
                if (Console.ReadLine()?.Trim() != name)
                {
                    Console.Error.WriteLine("not deleted");
                    return ExitCodes.Failed;
                }
            }

            Paths.Store(parse).Delete(name);
            Console.WriteLine($"deleted {name}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ChangePin()
    {
        var pin = Secrets.Pin();
        var newPin = Secrets.NewPin();
        var command = new Command("change-pin", "Change a VSC's PIN (wrong PINs count down and block)") { VscArgument, pin.Option, newPin.Option };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            byte[] old = pin.Read(parse);
            byte[] replacement = newPin.Read(parse, confirm: true);
            try
            {
                using var card = Paths.Store(parse).Open(parse.GetValue(VscArgument)!);
                return Report(card.ChangePin(old, replacement), "PIN changed", "PIN");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(old);
                CryptographicOperations.ZeroMemory(replacement);
            }
        }));
        return command;
    }

    private static Command UnblockPin()
    {
        var puk = Secrets.Puk();
        var newPin = Secrets.NewPin();
        var command = new Command("unblock-pin", "Set a new PIN with the PUK and reset the PIN tries (wrong PUKs count down and block)") { VscArgument, puk.Option, newPin.Option };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            byte[] pukBytes = puk.Read(parse);
            byte[] replacement = newPin.Read(parse, confirm: true);
            try
            {
                using var card = Paths.Store(parse).Open(parse.GetValue(VscArgument)!);
                return Report(card.UnblockPin(pukBytes, replacement), "PIN unblocked and set", "PUK");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pukBytes);
                CryptographicOperations.ZeroMemory(replacement);
            }
        }));
        return command;
    }

    private static int Report(PinResult result, string success, string what)
    {
        switch (result)
        {
            case PinResult.Verified verified:
                verified.Unlock.Dispose();
                Console.WriteLine(success);
                return ExitCodes.Ok;
            case PinResult.Wrong wrong:
                Console.Error.WriteLine($"error: wrong {what}, {wrong.RetriesLeft} {(wrong.RetriesLeft == 1 ? "try" : "tries")} left");
                return ExitCodes.Failed;
            default:
                Console.Error.WriteLine($"error: the {what} is blocked{(what == "PIN" ? "; unblock it with 'cardkeep vsc unblock-pin'" : string.Empty)}");
                return ExitCodes.Failed;
        }
    }
}
