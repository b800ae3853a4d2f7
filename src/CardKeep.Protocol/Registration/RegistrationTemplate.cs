using System.Text;
using System.Text.Json;

namespace CardKeep.Protocol.Registration;

/// <summary>
/// The registration template of REG1 (UTF-8 JSON ≤ 2 KiB): <c>{"version":1,"fields":["host",…],"activation_code":"required"}</c>.
/// A client fills in only whitelisted fields (C5); anything else in the template refuses the registration.
/// </summary>
public sealed record RegistrationTemplate(IReadOnlyList<string> Fields, bool ActivationCodeRequired)
{
    /// <summary>The fields a template may ask for.</summary>
    public static IReadOnlySet<string> WhitelistedFields { get; } = new HashSet<string>(StringComparer.Ordinal) { "display_name", "email", "host", "location", "os" };

    /// <summary>Longest answer to one field.</summary>
    public const int MaxAnswerLength = 128;

    /// <summary>The template as sent.</summary>
    public byte[] ToJson()
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["version"] = 1,
            ["fields"] = Fields,
            ["activation_code"] = ActivationCodeRequired ? "required" : "optional",
        });
        if (json.Length > Trk1Limits.MaxTemplateLength)
        {
            throw new InvalidOperationException("template longer than 2 KiB");
        }

        return json;
    }

    /// <summary>Parses and checks a template (C5); anything unexpected is <see cref="Trk1Failure.BadTemplate"/>.</summary>
    public static RegistrationTemplate Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 4 });
            var root = doc.RootElement;
            var fields = new List<string>();
            bool? required = null;
            bool versionSeen = false;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "version" when property.Value.ValueKind == JsonValueKind.Number && property.Value.GetInt32() == 1:
                        versionSeen = true;
                        break;
                    case "fields" when property.Value.ValueKind == JsonValueKind.Array:
                        foreach (var f in property.Value.EnumerateArray())
                        {
                            string name = f.GetString() ?? string.Empty;
                            if (!WhitelistedFields.Contains(name) || fields.Contains(name))
                            {
                                throw new Trk1Exception(Trk1Failure.BadTemplate, "template asks for a field that is not whitelisted");
                            }

                            fields.Add(name);
                        }

                        break;
                    case "activation_code" when property.Value.ValueKind == JsonValueKind.String:
                        required = property.Value.GetString() switch
                        {
                            "required" => true,
                            "optional" => false,
                            _ => throw new Trk1Exception(Trk1Failure.BadTemplate, "unknown activation code rule"),
                        };
                        break;
                    default:
                        throw new Trk1Exception(Trk1Failure.BadTemplate, "unknown template member");
                }
            }

            if (!versionSeen || required is null)
            {
                throw new Trk1Exception(Trk1Failure.BadTemplate, "template lacks version or activation code rule");
            }

            return new RegistrationTemplate(fields, required.Value);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new Trk1Exception(Trk1Failure.BadTemplate, "template is not valid JSON of the expected form");
        }
    }

    /// <summary>
    /// The answers JSON the client sends: exactly the template's fields that <paramref name="values"/> has, strings only.
    /// </summary>
    public byte[] Answer(IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var answers = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string field in Fields)
        {
            if (values.TryGetValue(field, out string? value) && !string.IsNullOrEmpty(value))
            {
                answers[field] = value.Length > MaxAnswerLength ? value[..MaxAnswerLength] : value;
            }
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(answers);
        return json.Length <= Trk1Limits.MaxAnswersLength ? json : "{}"u8.ToArray();
    }

    /// <summary>Server side: the answers as a dictionary, refusing fields the template did not ask for.</summary>
    public IReadOnlyDictionary<string, string> ReadAnswers(ReadOnlySpan<byte> json)
    {
        try
        {
            var values = JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];
            foreach (var (key, value) in values)
            {
                if (!Fields.Contains(key) || value.Length > MaxAnswerLength)
                {
                    throw new Trk1Exception(Trk1Failure.NotAuthorized, "answer to a field the template did not ask for");
                }
            }

            return values;
        }
        catch (JsonException)
        {
            throw new Trk1Exception(Trk1Failure.Malformed, "answers are not a JSON object of strings");
        }
    }

    /// <summary>UTF-8 text of the template (for logs and tests).</summary>
    public override string ToString() => Encoding.UTF8.GetString(ToJson());
}
