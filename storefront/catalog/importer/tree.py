"""The category tree during an import: the database's tree with the file's lines applied.

Categories are few (one per ~200 products), so the whole tree is held in
memory: each line is checked against it (known parent, no cycle, bounded
depth counting the moved subtree) and applied; at the end every category of
the file, and every one whose path changed because an ancestor moved, is
written in one upsert with paths from `category_path_for`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from storefront.catalog.interchange import CategoryRecord, LineError
from storefront.catalog.models import CATEGORY_MAX_DEPTH, Category, category_path_for
from storefront.catalog.services import lock_category_tree

_UPDATE_FIELDS = ["name", "description", "parent", "path", "depth", "updated_at"]


@dataclass(slots=True)
class _Node:
    """A category as the import sees it: the database's tree with the file applied."""

    id: uuid.UUID
    slug: str
    parent: str | None
    name: str
    description: str
    path: str = ""
    depth: int = 0
    children: set[str] = field(default_factory=set)
    existed: bool = False
    in_file: bool = False
    db_state: tuple | None = None  # (parent slug, path) as loaded


class CategoryTree:
    """Every category by slug, loaded (and locked against other writers) at the start."""

    def __init__(self) -> None:
        # The tree lock API moves hold while they validate and write: a move that
        # passed its checks finishes before we read the tree, later ones wait.
        lock_category_tree()
        if connection.vendor == "postgresql":
            # Hold every other category write until we commit: the tree we
            # validate against must stay the tree we write into.
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Category._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
        rows = list(
            Category.objects.values_list("id", "slug", "parent_id", "name", "description", "path")
        )
        slugs = {row[0]: row[1] for row in rows}
        self.nodes: dict[str, _Node] = {}
        for id_, slug, parent_id, name, description, path in rows:
            parent = slugs.get(parent_id)
            self.nodes[slug] = _Node(
                id=id_,
                slug=slug,
                parent=parent,
                name=name,
                description=description,
                existed=True,
                db_state=(parent, path),
            )
        for node in self.nodes.values():
            if node.parent is not None:
                self.nodes[node.parent].children.add(node.slug)
        for node in self.nodes.values():
            if node.parent is None:
                self._place(node, None)

    def get(self, slug: str) -> _Node | None:
        return self.nodes.get(slug)

    def __contains__(self, slug: str) -> bool:
        return slug in self.nodes

    def _place(self, node: _Node, parent: _Node | None) -> None:
        """Set path and depth of `node` and its subtree from `parent`."""
        stack = [(node, parent)]
        while stack:
            current, above = stack.pop()
            current.path = category_path_for(above, current.id)
            current.depth = 0 if above is None else above.depth + 1
            stack.extend((self.nodes[child], current) for child in current.children)

    def _height(self, node: _Node) -> int:
        if not node.children:
            return 0
        return 1 + max(self._height(self.nodes[child]) for child in node.children)

    def accept(self, record: CategoryRecord) -> None:
        """Apply a category line to the tree, or raise LineError (nothing changed then)."""
        node = self.nodes.get(record.slug)
        if node is not None and node.in_file:
            raise LineError(f"duplicate category slug {record.slug!r} in the file")
        parent = None
        if record.parent is not None:
            if record.parent == record.slug:
                raise LineError(f"category {record.slug!r} cannot be its own parent")
            parent = self.nodes.get(record.parent)
            if parent is None:
                raise LineError(
                    f"unknown parent category {record.parent!r} "
                    "(not earlier in the file nor in the database)"
                )
            if node is not None and parent.path.startswith(node.path):
                raise LineError(
                    f"moving category {record.slug!r} under {record.parent!r} would "
                    "create a cycle (the parent is inside its subtree)"
                )
        depth = 0 if parent is None else parent.depth + 1
        height = 0 if node is None else self._height(node)
        if depth + height >= CATEGORY_MAX_DEPTH:
            raise LineError(
                f"category {record.slug!r} would be at depth {depth + height} "
                f"(with its subtree): the tree is at most {CATEGORY_MAX_DEPTH} levels deep"
            )
        if node is None:
            node = _Node(id=uuid.uuid4(), slug=record.slug, parent=None, name="", description="")
            self.nodes[record.slug] = node
        if node.parent is not None:
            self.nodes[node.parent].children.discard(node.slug)
        if parent is not None:
            parent.children.add(node.slug)
        node.parent = record.parent
        node.name = record.name
        node.description = record.description
        node.in_file = True
        self._place(node, parent)

    def write(self, *, batch_size: int) -> tuple[int, int]:
        """Upsert the categories of the file and every moved one; (created, updated)."""
        # Parents first, so a new parent is inserted before its children.
        changed = sorted(
            (n for n in self.nodes.values() if n.in_file or n.db_state != (n.parent, n.path)),
            key=lambda n: n.depth,
        )
        if not changed:
            return 0, 0
        now = timezone.now()
        Category.objects.bulk_create(
            [
                Category(
                    id=n.id,
                    slug=n.slug,
                    name=n.name,
                    description=n.description,
                    parent_id=None if n.parent is None else self.nodes[n.parent].id,
                    path=n.path,
                    depth=n.depth,
                    created_at=now,
                )
                for n in changed
            ],
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=["slug"],
            update_fields=_UPDATE_FIELDS,
        )
        in_file = [n for n in changed if n.in_file]
        updated = sum(1 for n in in_file if n.existed)
        return len(in_file) - updated, updated
