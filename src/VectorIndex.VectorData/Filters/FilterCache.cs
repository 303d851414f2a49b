using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Text;
using VectorIndex.VectorData.Storage;

namespace VectorIndex.VectorData.Filters;

/// <summary>Compiled filter delegates by shape, for one collection object. Thread-safe; cleared when it grows large.</summary>
internal sealed class FilterCache
{
    private const int Capacity = 512;
    private readonly ConcurrentDictionary<string, Func<Row, object?[], bool>> _compiled = new(StringComparer.Ordinal);

    public int Count => _compiled.Count;

    public Func<Row, object?[], bool> GetOrAdd(string key, Func<Func<Row, object?[], bool>> compile)
    {
        if (_compiled.TryGetValue(key, out var found))
        {
            return found;
        }

        if (_compiled.Count >= Capacity)
        {
            _compiled.Clear(); // filters built from ever-new shapes: stop keeping them rather than grow without bound
        }

        return _compiled.GetOrAdd(key, _ => compile());
    }
}

/// <summary>
/// A string that identifies an expression tree's shape exactly: node kinds, types, methods and members, parameters by
/// name, and the values of the constants left in it (the property bindings' storage names and types).
/// </summary>
internal sealed class ShapeKey : ExpressionVisitor
{
    private readonly StringBuilder _key = new();

    public static string Of(Expression expression)
    {
        var visitor = new ShapeKey();
        visitor.Visit(expression);
        return visitor._key.ToString();
    }

    public override Expression? Visit(Expression? node)
    {
        if (node is null)
        {
            _key.Append('~');
            return null;
        }

        _key.Append((int)node.NodeType).Append('<').Append(TypeKey(node.Type)).Append('>');
        switch (node)
        {
            case ConstantExpression constant:
                _key.Append('=').Append(constant.Value is Type t ? TypeKey(t) : constant.Value?.ToString()).Append('|');
                break;
            case ParameterExpression parameter:
                _key.Append('$').Append(parameter.Name).Append('|');
                break;
            case MethodCallExpression call:
                _key.Append(MethodKey(call.Method));
                break;
            case MemberExpression member:
                _key.Append(TypeKey(member.Member.DeclaringType!)).Append("::").Append(member.Member.Name);
                break;
            case BinaryExpression { Method: { } method }:
                _key.Append(MethodKey(method));
                break;
            case UnaryExpression { Method: { } method }:
                _key.Append(MethodKey(method));
                break;
            case NewExpression { Constructor: { } constructor }:
                _key.Append(TypeKey(constructor.DeclaringType!)).Append(constructor);
                break;
            case TypeBinaryExpression typeBinary:
                _key.Append(TypeKey(typeBinary.TypeOperand));
                break;
        }

        _key.Append('(');
        base.Visit(node);
        _key.Append(')');
        return node;
    }

    private static string TypeKey(Type type) => type.AssemblyQualifiedName ?? type.ToString();

    private static string MethodKey(System.Reflection.MethodInfo method) =>
        TypeKey(method.DeclaringType!) + "::" + method;
}
