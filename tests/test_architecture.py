"""The package's import graph is the one docs/architecture.md draws: layers that import only
downwards, and no cycles anywhere in scf/. Read with grimp, import-linter's engine."""

import grimp
import pytest

# Top to bottom; modules in one layer are independent of each other.
LAYERS = (
    {"cli"},
    {"scenario", "api"},
    {"deploy", "seed", "inspect", "member", "export", "sources", "watch", "offers"},
    {"losses", "supervision", "vault"},
    {"suite", "indexer"},
    {"contracts", "manifest", "wallet"},
    {"chain", "typed_data"},
    {"money", "text", "toolchain"},
    {"paths"},
    {"errors"},
)


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("scf")


def test_every_module_of_the_package_has_a_layer(graph):
    placed = {name for layer in LAYERS for name in layer}
    top_level = {module.split(".")[1] for module in graph.modules if module.count(".") >= 1}
    assert top_level == placed, f"modules without a layer: {sorted(top_level - placed)}"


def test_layers_import_only_downwards_and_siblings_not_at_all(graph):
    layers = [grimp.Layer(*sorted(layer), independent=True) for layer in LAYERS]
    illegal = graph.find_illegal_dependencies_for_layers(layers=layers, containers={"scf"})
    routes = sorted(
        f"{dependency.importer} -> {dependency.imported}: "
        + " | ".join(" -> ".join(route.heads) for route in dependency.routes)
        for dependency in illegal
    )
    assert not routes, "imports against the layering:\n" + "\n".join(routes)


def test_no_module_of_the_package_imports_itself_back(graph):
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append(" -> ".join((importer, *back)))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
