using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace VectorIndex.Tests;

/// <summary>
/// The public surface, reflected into text and compared with the committed <c>PublicApi.approved.txt</c>. A change to
/// the API fails this test until the approved file is updated on purpose (the test writes
/// <c>PublicApi.received.txt</c> next to it to copy from).
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void The_public_api_matches_the_approved_file()
    {
        string received = Describe(typeof(HnswIndex).Assembly);
        string approvedPath = Path.Combine(AppContext.BaseDirectory, "PublicApi.approved.txt");
        string approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n") : "";
        if (received != approved)
        {
            string source = Path.Combine(SourceDirectory(), "PublicApi.received.txt");
            File.WriteAllText(source, received);
            received.Should().Be(approved, $"the public API changed; review {source} and copy it over PublicApi.approved.txt");
        }
    }

    [Fact]
    public void The_contract_members_of_api_md_are_all_present()
    {
        string api = Describe(typeof(HnswIndex).Assembly);
        string[] contract =
        [
            "public enum VectorIndex.Metric",
            "public sealed class VectorIndex.HnswOptions",
            "public readonly struct VectorIndex.SearchResult",
            "public sealed class VectorIndex.SearchOptions",
            "public sealed class VectorIndex.HnswIndex",
            "public sealed class VectorIndex.BruteForceIndex",
            "  void Add(ulong key, ReadOnlySpan<float> vector)",
            "  void AddRange(ReadOnlyMemory<ulong> keys, ReadOnlyMemory<float> vectors, int maxDegreeOfParallelism = -1, IProgress<int>? progress = null, CancellationToken cancellationToken = default)",
            "  bool Remove(ulong key)",
            "  bool Contains(ulong key)",
            "  bool TryGetVector(ulong key, Span<float> destination)",
            "  IReadOnlyList<SearchResult> Search(ReadOnlySpan<float> query, int k, SearchOptions? options = null)",
            "  int Search(ReadOnlySpan<float> query, Span<SearchResult> destination, SearchOptions? options = null)",
            "  void Save(string path)",
            "  void Save(Stream stream)",
            "  static HnswIndex Load(string path)",
            "  static HnswIndex Load(Stream stream)",
            "  static HnswIndex OpenReadOnly(string path)",
            "  float? MaxDistance { get; init; }",
        ];
        foreach (string line in contract)
        {
            api.Should().Contain(line);
        }
    }

    // Reads the compiler's nullable annotations; not thread-safe, and the description runs on one thread.
    private static readonly NullabilityInfoContext Nullability = new();

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    internal static string Describe(Assembly assembly)
    {
        var text = new StringBuilder();
        foreach (Type type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            text.Append("public ").Append(Kind(type)).Append(' ').Append(type.FullName);
            if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum) && b != typeof(MulticastDelegate))
            {
                text.Append(" : ").Append(Name(b));
            }

            foreach (Type i in type.GetInterfaces().OrderBy(i => i.Name, StringComparer.Ordinal))
            {
                text.Append(", ").Append(Name(i));
            }

            text.Append('\n');
            var members = new List<string>();
            const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            if (type.IsEnum)
            {
                members.AddRange(Enum.GetNames(type).Select(n => $"{n} = {Convert.ToInt64(Enum.Parse(type, n), System.Globalization.CultureInfo.InvariantCulture)}"));
            }
            else
            {
                foreach (MemberInfo m in type.GetMembers(flags))
                {
                    string? line = m switch
                    {
                        ConstructorInfo c => $"ctor({Parameters(c)})",
                        MethodInfo method when !method.IsSpecialName =>
                            $"{Static(method)}{Name(method.ReturnType, Nullability.Create(method.ReturnParameter))} {method.Name}({Parameters(method)})",
                        PropertyInfo p => $"{Static(p.GetMethod ?? p.SetMethod!)}{Name(p.PropertyType, Nullability.Create(p))} {p.Name} {{ {Accessors(p)}}}",
                        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{Name(f.FieldType, Nullability.Create(f))} {f.Name}",
                        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
                        _ => null,
                    };
                    if (line is not null)
                    {
                        members.Add(line);
                    }
                }
            }

            foreach (string line in members.Order(StringComparer.Ordinal))
            {
                text.Append("  ").Append(line).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string Kind(Type t) =>
        t.IsEnum ? "enum" :
        t.IsInterface ? "interface" :
        t.IsValueType ? (t.IsDefined(typeof(IsReadOnlyAttribute)) ? "readonly struct" : "struct") :
        t.IsAbstract && t.IsSealed ? "static class" :
        t.IsSealed ? "sealed class" : t.IsAbstract ? "abstract class" : "class";

    private static string Static(MethodBase m) => m.IsStatic ? "static " : "";

    private static string Accessors(PropertyInfo p)
    {
        var s = new StringBuilder();
        if (p.GetMethod is { IsPublic: true })
        {
            s.Append("get; ");
        }

        if (p.SetMethod is { IsPublic: true } set)
        {
            bool init = set.ReturnParameter.GetRequiredCustomModifiers().Any(t => t.FullName == "System.Runtime.CompilerServices.IsExternalInit");
            s.Append(init ? "init; " : "set; ");
        }

        return s.ToString();
    }

    private static string Parameters(MethodBase m) => string.Join(", ", m.GetParameters().Select(p =>
    {
        NullabilityInfo nullability = Nullability.Create(p);
        string type = p.ParameterType.IsByRef
            ? (p.IsOut ? "out " : p.IsIn ? "in " : "ref ") + Name(p.ParameterType.GetElementType()!, nullability.ElementType)
            : Name(p.ParameterType, nullability);
        string value = !p.HasDefaultValue ? "" : p.DefaultValue switch
        {
            null when p.ParameterType.IsValueType => " = default",
            null => " = null",
            bool b => b ? " = true" : " = false",
            _ => " = " + Convert.ToString(p.DefaultValue, System.Globalization.CultureInfo.InvariantCulture),
        };
        return $"{type} {p.Name}{value}";
    }));

    /// <summary>The C# name of a type, with <c>?</c> on every reference type the nullable annotations allow to be null.</summary>
    private static string Name(Type t, NullabilityInfo? nullability = null)
    {
        string mark = !t.IsValueType && nullability is { ReadState: NullabilityState.Nullable } ? "?" : "";
        if (t.IsArray)
        {
            return Name(t.GetElementType()!, nullability?.ElementType) + "[]" + mark;
        }

        if (Nullable.GetUnderlyingType(t) is { } inner)
        {
            return Name(inner) + "?";
        }

        if (t.IsGenericType)
        {
            string name = t.Name[..t.Name.IndexOf('`', StringComparison.Ordinal)];
            Type[] arguments = t.GetGenericArguments();
            IEnumerable<string> names = arguments.Select((a, i) =>
                Name(a, nullability is { GenericTypeArguments.Length: > 0 } n && i < n.GenericTypeArguments.Length ? n.GenericTypeArguments[i] : null));
            return $"{name}<{string.Join(", ", names)}>{mark}";
        }

        return t.FullName switch
        {
            "System.Void" => "void",
            "System.Int32" => "int",
            "System.Int64" => "long",
            "System.UInt64" => "ulong",
            "System.Single" => "float",
            "System.Double" => "double",
            "System.Boolean" => "bool",
            "System.String" => "string",
            "System.Object" => "object",
            "System.Byte" => "byte",
            _ => t.Name,
        } + mark;
    }
}
