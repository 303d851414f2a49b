using Microsoft.Extensions.VectorData;
using VectorIndex.VectorData.Filters;
using VectorIndex.VectorData.Model;

namespace VectorIndex.VectorData.Tests;

public class FilterCompilerTests
{
    [Fact]
    public void Equality_and_contains_on_indexed_properties_become_index_terms()
    {
        var model = new VectorIndexModelBuilder().Build(typeof(Hotel), typeof(Guid), null, null);
        string[] names = ["x", "y"];
        System.Linq.Expressions.Expression<Func<Hotel, bool>> filter = h => h.Name == "a" && h.Rating > 2;
        FilterCompiler.Compile(filter, model).Terms.Should().ContainSingle().Which.Should().BeEquivalentTo(new IndexTerm("Name", ["a"]));
        filter = h => names.Contains(h.Name!);
        FilterCompiler.Compile(filter, model).Terms.Single().Values.Should().Equal("x", "y");
        filter = h => h.Name == "a" || h.Rating > 2;
        FilterCompiler.Compile(filter, model).Terms.Should().BeEmpty("a disjunction cannot be narrowed by one side");
        filter = h => h.Rating == 3;
        FilterCompiler.Compile(filter, model).Terms.Should().BeEmpty("Rating is not indexed");
    }
}
