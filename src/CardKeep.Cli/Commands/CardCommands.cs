using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CardKeep.Cards.Piv;
using CardKeep.Manager;
using CardKeep.VirtualCard.Store;
using Spectre.Console;

namespace CardKeep.Cli.Commands;

/// <summary>
/// The card manager on the command line: <c>cardkeep cards</c>, <c>cardkeep card show|copy|paste|put|backup|restore|transfer|open</c>
/// and <c>cardkeep clipboard</c>. A CARD is <c>vsc:ID</c> (or a VSC's Id or label) or a reader (<c>reader:NAME</c>, an index
/// or a unique substring of the reader name).
/// </summary>
internal static class CardCommands
{
    private static readonly Argument<string> CardArgument = new("CARD") { Description = "vsc:ID (or a VSC's Id or label), or a reader: reader:NAME, its index, or a unique part of its name" };

    public static void Add(RootCommand root)
    {
        root.Add(Cards());
        var card = new Command("card", "Look after the contents of a card: show, copy and paste objects, back up, restore, transfer") { Paths.StoreOption };
        card.Add(Show());
        card.Add(Copy());
        card.Add(Paste());
        card.Add(Put());
        card.Add(Backup());
        card.Add(Restore());
        card.Add(TransferCommand());
        card.Add(Open());
        root.Add(card);
        root.Add(ClipboardCommand());
    }

    private static CardDirectory Directory(ParseResult parse) => new(Paths.Store(parse));

    private static Command Cards()
    {
        var noReaders = new Option<bool>("--no-readers") { Description = "Only the VSCs in the store" };
        var command = new Command("cards", "Every card CardKeep can reach: cards in PC/SC readers and VSCs in the store") { Paths.StoreOption, noReaders, CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            var entries = Directory(parse).List(includeReaders: !parse.GetValue(noReaders));
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(entries.Select(e => new { kind = e.Kind == CardKind.Vsc ? "vsc" : "reader-card", address = e.Address, label = e.Label, serial = e.Serial, state = e.State, detail = e.Detail }));
                return ExitCodes.Ok;
            }

            if (entries.Count == 0)
            {
                Console.WriteLine("No cards: no card in any reader and no VSC in the store ('cardkeep vsc new' creates one).");
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("Card", "Label", "Serial", "Kind", "State");
            foreach (var e in entries)
            {
                table.AddRow(Markup.Escape(e.Address), Markup.Escape(e.Label), e.Serial ?? string.Empty, e.KindText, e.State == "damaged" ? "damaged: " + Markup.Escape(e.Detail ?? string.Empty) : e.State);
            }

            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Opens a card and verifies the PIN when one was given (flag or CARDKEEP_PIN).</summary>
    private static ICardObjects OpenCard(ParseResult parse, string address, SecretOption? pin)
    {
        var card = Directory(parse).Open(address);
        try
        {
            if (pin is not null && (parse.GetValue(pin.Option) is { Length: > 0 } || Environment.GetEnvironmentVariable(pin.EnvironmentVariable) is { Length: > 0 }))
            {
                byte[] pinBytes = pin.Read(parse);
                try
                {
                    card.Unlock(pinBytes);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(pinBytes);
                }
            }

            return card;
        }
        catch
        {
            card.Dispose();
            throw;
        }
    }

    private static void AuthorizeWrites(ParseResult parse, ICardObjects card, SecretOption mgmt)
    {
        byte[] key = VscCommands.ReadManagementKey(parse, mgmt, out _);
        try
        {
            card.AuthorizeWrites(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static Command Show()
    {
        var pin = Secrets.Pin();
        var command = new Command("show", "A card's details and public objects; with the PIN, the private objects too") { CardArgument, pin.Option, CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            using var card = OpenCard(parse, parse.GetValue(CardArgument)!, pin);
            var objects = card.ListTags().Select(tag => new CardObject(tag, CardObject.AreaOf(tag), card.Read(tag) ?? [])).ToList();
            var keys = DescribeKeys(card);
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(new
                {
                    card = card.Name,
                    privateUnlocked = card.PrivateUnlocked,
                    objects = objects.Select(o => new { tag = o.TagHex, name = o.Name, area = o.Area.ToString().ToLowerInvariant(), size = o.Value.Length, summary = Summarize(o), value = Convert.ToHexString(o.Value) }),
                    keys,
                });
                return ExitCodes.Ok;
            }

            Console.WriteLine($"{card.Name}{(card.PrivateUnlocked ? " (PIN verified: private objects shown)" : " (public objects; give --pin for the private ones)")}");
            foreach (var o in objects)
            {
                Console.WriteLine($"  {o.TagHex,-7} {o.Name} [{o.Area.ToString().ToLowerInvariant()}, {o.Value.Length} bytes]{(Summarize(o) is { } s ? ": " + s : string.Empty)}");
            }

            foreach (var k in keys)
            {
                Console.WriteLine($"  key {k}");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static List<string> DescribeKeys(ICardObjects card)
    {
        if (card is VscCardObjects vsc)
        {
            return [.. vsc.Card.Keys.OrderBy(k => k.Slot).Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Slot:X2} {((PivAlgorithm)k.Algorithm).DisplayName()}"))];
        }

        var keys = new List<string>();
        if (card is PivCardObjects piv)
        {
            foreach (var slot in new[] { PivSlot.Authentication, PivSlot.Signature, PivSlot.KeyManagement, PivSlot.CardAuthentication })
            {
                try
                {
                    if (piv.Session.GetMetadata(slot).Algorithm is PivAlgorithm a)
                    {
                        keys.Add(string.Create(CultureInfo.InvariantCulture, $"{(byte)slot:X2} {a.DisplayName()}"));
                    }
                }
                catch (CardKeep.Cards.CardException)
                {
                    // No key there, or the card has no GET METADATA.
                }
            }
        }

        return keys;
    }

    /// <summary>One line people can read: a certificate's subject, a URL list, a vCard's name.</summary>
    internal static string? Summarize(CardObject o)
    {
        try
        {
            if (PivDataObject.Find(o.Tag)?.Slot is not null)
            {
                using var cert = X509CertificateLoader.LoadCertificate(PivCertificateContainer.Decode(o.Value));
                return $"{cert.Subject}, until {cert.NotAfter:yyyy-MM-dd}";
            }

            if (o.Tag == PivDataObject.CardKeepUrls.Tag)
            {
                return string.Join(" ", Encoding.UTF8.GetString(o.Value).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }

            if (o.Tag == PivDataObject.CardKeepBusinessCard.Tag)
            {
                return Encoding.UTF8.GetString(o.Value).Split('\n').FirstOrDefault(l => l.StartsWith("FN:", StringComparison.Ordinal))?.Trim();
            }
        }
        catch (Exception e) when (e is CryptographicException or CardKeep.Cards.CardFormatException or DecoderFallbackException)
        {
            return "(unreadable content)";
        }

        return null;
    }

    private static Command Copy()
    {
        var objects = new Argument<string[]>("OBJECT") { Description = "Objects to copy: PIV tags (5FC102) or names (chuid, printed, 9a, url, vcard, notes)", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Copy every object (private ones too when the PIN is given)" };
        var pin = Secrets.Pin();
        var command = new Command("copy", "Copy objects of a card to the clipboard (kept encrypted when it holds private objects)") { CardArgument, objects, all, pin.Option };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string[] names = parse.GetValue(objects) ?? [];
            if (names.Length == 0 && !parse.GetValue(all))
            {
                throw new UsageException("name the objects to copy, or give --all");
            }

            var tags = names.Length == 0 ? null : names.Select(ParseTag).ToList();
            using var card = OpenCard(parse, parse.GetValue(CardArgument)!, pin);
            var (read, skipped) = Transfer.ReadAll(card, tags);
            Clipboard.Default().Put(card.Name, read);
            Console.WriteLine($"copied {read.Count} object{(read.Count == 1 ? string.Empty : "s")} from {card.Name}: {string.Join(", ", read.Select(o => o.Name))}");
            foreach (var s in skipped)
            {
                Console.WriteLine($"  not copied: {s.Name}: {s.Reason}");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static uint ParseTag(string text)
    {
        try
        {
            return CardObject.ParseTag(text);
        }
        catch (ManagerException e)
        {
            throw new UsageException(e.Message);
        }
    }

    private static Command Paste()
    {
        var area = new Option<ObjectArea?>("--area") { Description = "Paste only the clipboard's public or private objects" };
        var mgmt = Secrets.ManagementKey();
        var pin = Secrets.Pin();
        var command = new Command("paste", "Write the clipboard's objects to a card (verified by reading back; rolled back on failure)") { CardArgument, area, pin.Option, mgmt.Option };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            var content = Clipboard.Default().Get() ?? throw new UsageException("the clipboard is empty; copy with 'cardkeep card copy'");
            var objects = content.Objects.Where(o => parse.GetValue(area) is not ObjectArea a || o.Area == a).ToList();
            using var card = OpenCard(parse, parse.GetValue(CardArgument)!, pin);
            AuthorizeWrites(parse, card, mgmt);
            return Report(card.Name, Transfer.WriteAll(card, objects, Progress()), "pasted");
        }));
        return command;
    }

    private static Command Put()
    {
        var obj = new Argument<string>("OBJECT") { Description = "The object: a PIV tag or name (url, vcard, notes, printed, …)" };
        var file = new Option<string?>("--file") { Description = "Take the content from this file" };
        var text = new Option<string?>("--text") { Description = "Take the content from this text (UTF-8)" };
        var mgmt = Secrets.ManagementKey();
        var pin = Secrets.Pin();
        var command = new Command("put", "Write one object to a card from a file or text (empty content deletes it)") { CardArgument, obj, file, text, pin.Option, mgmt.Option };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            uint tag = ParseTag(parse.GetValue(obj)!);
            byte[] content = (parse.GetValue(file), parse.GetValue(text)) switch
            {
                (string f, null) => File.ReadAllBytes(f),
                (null, string t) => Encoding.UTF8.GetBytes(t),
                _ => throw new UsageException("give exactly one of --file or --text"),
            };
            using var card = OpenCard(parse, parse.GetValue(CardArgument)!, pin);
            AuthorizeWrites(parse, card, mgmt);
            return Report(card.Name, Transfer.WriteAll(card, [new CardObject(tag, CardObject.AreaOf(tag), content)]), "written");
        }));
        return command;
    }

    private static Command Backup()
    {
        var to = new Option<string?>("--to") { Description = "Back up into this existing VSC" };
        var newVsc = new Option<bool>("--new-vsc") { Description = "Back up into a new VSC named after the card's serial (VSC-<serial>)" };
        var pin = Secrets.Pin();
        var vscPin = new SecretOption("--vsc-pin", "CARDKEEP_VSC_PIN", "PIN for the new VSC");
        var vscPuk = new SecretOption("--vsc-puk", "CARDKEEP_VSC_PUK", "PUK for the new VSC");
        var toPin = Secrets.TargetPin();
        var command = new Command("backup", "Copy every object of a card except private keys into a VSC") { CardArgument, to, newVsc, pin.Option, vscPin.Option, vscPuk.Option, toPin.Option, CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            if ((parse.GetValue(to) is null) == !parse.GetValue(newVsc))
            {
                throw new UsageException("give exactly one of --to VSC or --new-vsc");
            }

            var directory = Directory(parse);
            string source = parse.GetValue(CardArgument)!;
            List<CardObject> objects;
            List<TransferItem> skipped;
            string? serial;
            TransferReport report;
            using (var card = OpenCard(parse, source, pin))
            {
                // Everything is read before anything is written: a card pulled now leaves no half-written VSC.
                (objects, skipped) = Transfer.ReadAll(card, null, Progress());
                serial = card is PivCardObjects piv ? CardDirectory.TrySerial(piv.Session) : (card as VscCardObjects)?.Card.Serial.ToString(CultureInfo.InvariantCulture);
                skipped.AddRange(KeysNotCopied(card));
            }

            string targetAddress;
            byte[]? targetPin = null;
            try
            {
                if (parse.GetValue(newVsc))
                {
                    string id = "VSC-" + (serial ?? throw new UsageException("the card has no serial to name the VSC after; use --to VSC"));
                    targetPin = vscPin.Read(parse, confirm: true);
                    byte[] newPuk = vscPuk.Read(parse, confirm: true);
                    try
                    {
                        using var created = directory.Store.Create(new VscCreateOptions
                        {
                            Id = id, Label = "VSC " + serial, Role = VscRole.Backup, Parent = "card:" + serial, Pin = targetPin, Puk = newPuk,
                            ManagementKey = VirtualSmartCard.DefaultManagementKey.ToArray(),
                        });
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(newPuk);
                    }

                    targetAddress = "vsc:" + id;
                }
                else
                {
                    targetAddress = parse.GetValue(to)!;
                    if (!directory.IsVsc(targetAddress, out _))
                    {
                        throw new UsageException($"'{targetAddress}' is not a VSC in the store");
                    }

                    if (objects.Any(o => o.Area == ObjectArea.Private))
                    {
                        targetPin = toPin.Read(parse);
                    }
                }

                using var target = directory.Open(targetAddress);
                if (targetPin is not null)
                {
                    target.Unlock(targetPin);
                }

                report = Transfer.WriteAll(target, objects, Progress());
            }
            finally
            {
                if (targetPin is not null)
                {
                    CryptographicOperations.ZeroMemory(targetPin);
                }
            }

            if (!report.Succeeded && parse.GetValue(newVsc))
            {
                directory.Store.Delete(targetAddress[4..]);
            }

            report = report with { Items = [.. report.Items, .. skipped] };
            return Report(targetAddress, report, "backed up", parse.GetValue(CliSupport.JsonOption));
        }));
        return command;
    }

    private static IEnumerable<TransferItem> KeysNotCopied(ICardObjects card)
    {
        IEnumerable<byte> slots = card is VscCardObjects vsc
            ? vsc.Card.Keys.Select(k => k.Slot)
            : PivSlotExtensions.CertificateSlots.Where(s => card.ListTags().Contains(PivDataObject.CertificateFor(s).Tag)).Select(s => (byte)s);
        return slots.Select(s => new TransferItem(s, string.Create(CultureInfo.InvariantCulture, $"private key {s:X2}"), false,
            "private keys never leave a card; use an escrow VSC ('cardkeep vsc keygen' + 'vsc transfer-keys') to hold a copy"));
    }

    private static Command Restore()
    {
        var vsc = new Argument<string>("VSC") { Description = "The backup VSC" };
        var target = new Argument<string>("CARD") { Description = "The (new) card to write to" };
        var pin = Secrets.Pin();
        var toPin = Secrets.TargetPin();
        var mgmt = Secrets.ManagementKey();
        var command = new Command("restore", "Write a VSC's objects back onto a (new) card") { vsc, target, pin.Option, toPin.Option, mgmt.Option, CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() => CopyBetween(parse, "vsc:" + parse.GetValue(vsc)!.Replace("vsc:", string.Empty, StringComparison.Ordinal), parse.GetValue(target)!, null, pin, toPin, mgmt, "restored")));
        return command;
    }

    private static Command TransferCommand()
    {
        var from = new Argument<string>("FROM") { Description = "The card to copy from" };
        var to = new Argument<string>("TO") { Description = "The card to write to" };
        var objects = new Argument<string[]>("OBJECT") { Description = "Objects to transfer (default: all but private keys)", Arity = ArgumentArity.ZeroOrMore };
        var pin = Secrets.Pin();
        var toPin = Secrets.TargetPin();
        var mgmt = Secrets.ManagementKey();
        var command = new Command("transfer", "Copy objects from one card to another, e.g. a business card to a partner's card") { from, to, objects, pin.Option, toPin.Option, mgmt.Option, CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string[] names = parse.GetValue(objects) ?? [];
            return CopyBetween(parse, parse.GetValue(from)!, parse.GetValue(to)!, names.Length == 0 ? null : [.. names.Select(ParseTag)], pin, toPin, mgmt, "transferred");
        }));
        return command;
    }

    private static int CopyBetween(ParseResult parse, string from, string to, IReadOnlyCollection<uint>? tags, SecretOption pin, SecretOption toPin, SecretOption mgmt, string verb)
    {
        List<CardObject> objects;
        List<TransferItem> skipped;
        using (var source = OpenCard(parse, from, pin))
        {
            (objects, skipped) = Transfer.ReadAll(source, tags, Progress());
        }

        using var target = OpenCard(parse, to, toPin);
        AuthorizeWrites(parse, target, mgmt);
        var report = Transfer.WriteAll(target, objects, Progress());
        return Report(target.Name, report with { Items = [.. report.Items, .. skipped] }, verb, parse.GetValue(CliSupport.JsonOption));
    }

    private static Command Open()
    {
        var obj = new Argument<string>("OBJECT") { Description = "url (the URL list; the first URL, or --index N) or vcard" };
        var index = new Option<int>("--index") { Description = "Which URL of the list (1 = first)", DefaultValueFactory = _ => 1 };
        var vcard = new Option<string?>("--vcard") { Description = "Write the business card to this .vcf file instead of printing it" };
        var print = new Option<bool>("--print") { Description = "Print the URL instead of launching the browser" };
        var command = new Command("open", "Open a URL object in the default browser, or export a business card as vCard") { CardArgument, obj, index, vcard, print };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            uint tag = ParseTag(parse.GetValue(obj)!);
            using var card = OpenCard(parse, parse.GetValue(CardArgument)!, null);
            byte[] content = card.Read(tag) ?? throw new UsageException($"{card.Name} has no {PivDataObject.Find(tag)?.Name}");
            string text = Encoding.UTF8.GetString(content);
            if (tag == PivDataObject.CardKeepBusinessCard.Tag)
            {
                if (parse.GetValue(vcard) is string path)
                {
                    File.WriteAllText(path, text);
                    Console.WriteLine($"business card written to {path}");
                }
                else
                {
                    Console.Write(text);
                }

                return ExitCodes.Ok;
            }

            if (tag != PivDataObject.CardKeepUrls.Tag)
            {
                throw new UsageException("open works on the URL list (url) and the business card (vcard)");
            }

            var urls = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            int n = parse.GetValue(index);
            if (n < 1 || n > urls.Length)
            {
                throw new UsageException($"the URL list has {urls.Length} entr{(urls.Length == 1 ? "y" : "ies")}");
            }

            string url = urls[n - 1];
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                throw new UsageException($"'{url}' is not an http(s) URL; not opening it");
            }

            if (parse.GetValue(print))
            {
                Console.WriteLine(uri.AbsoluteUri);
                return ExitCodes.Ok;
            }

            string browser = Environment.GetEnvironmentVariable("BROWSER") is { Length: > 0 } b ? b : "xdg-open";
            var start = new ProcessStartInfo(browser) { UseShellExecute = false };
            start.ArgumentList.Add(uri.AbsoluteUri);
            Process.Start(start)?.Dispose();
            Console.WriteLine($"opened {uri.AbsoluteUri}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ClipboardCommand()
    {
        var clear = new Option<bool>("--clear") { Description = "Empty the clipboard" };
        var command = new Command("clipboard", "What the card clipboard holds") { clear, CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            var clipboard = Clipboard.Default();
            if (parse.GetValue(clear))
            {
                clipboard.Clear();
                Console.WriteLine("clipboard emptied");
                return ExitCodes.Ok;
            }

            var content = clipboard.Get();
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(new
                {
                    source = content?.Source,
                    copied = content?.Copied,
                    objects = content?.Objects.Select(o => new { tag = o.TagHex, name = o.Name, area = o.Area.ToString().ToLowerInvariant(), size = o.Value.Length }) ?? [],
                });
                return ExitCodes.Ok;
            }

            if (content is null)
            {
                Console.WriteLine("the clipboard is empty");
                return ExitCodes.Ok;
            }

            Console.WriteLine($"from {content.Source}, copied {content.Copied:u}:");
            foreach (var o in content.Objects)
            {
                Console.WriteLine($"  {o.TagHex,-7} {o.Name} [{o.Area.ToString().ToLowerInvariant()}, {o.Value.Length} bytes]");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static int Report(string target, TransferReport report, string verb, bool json = false)
    {
        if (json)
        {
            CliSupport.WriteJson(new
            {
                target,
                succeeded = report.Succeeded,
                rolledBack = report.RolledBack,
                failure = report.Failure,
                items = report.Items.Select(i => new { tag = i.TagHex, name = i.Name, done = i.Done, reason = i.Reason }),
            });
        }
        else
        {
            int done = report.Items.Count(i => i.Done);
            Console.WriteLine($"{verb} {done} object{(done == 1 ? string.Empty : "s")} to {target}");
            foreach (var item in report.Items)
            {
                Console.WriteLine($"  {(item.Done ? "ok     " : "not    ")} {item.Name}{(item.Reason is null ? string.Empty : ": " + item.Reason)}");
            }
        }

        if (!report.Succeeded)
        {
            Console.Error.WriteLine($"error: {report.Failure}{(report.RolledBack ? "; the card holds what it held before" : string.Empty)}");
            return ExitCodes.Failed;
        }

        return ExitCodes.Ok;
    }

    /// <summary>A progress bar on a terminal; nothing when output is redirected.</summary>
    private static Progress<TransferProgress>? Progress()
    {
        if (Console.IsErrorRedirected)
        {
            return null;
        }

        return new Progress<TransferProgress>(p =>
        {
            int width = 30;
            int filled = p.Total == 0 ? width : p.Done * width / p.Total;
            Console.Error.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {p.Done}/{p.Total} {p.What,-40}");
            if (p.Done == p.Total)
            {
                Console.Error.WriteLine();
            }
        });
    }
}
