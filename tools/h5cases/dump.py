#!/usr/bin/env python3
"""Prints, from h5py, the JSON listing that `kerasrt h5ls --json FILE` prints from kerasrt's reader.

    dump.py FILE [--max-data-bytes N]
    dump.py --serve          one request per stdin line: {"file": ..., "max_data_bytes": ...};
                             one reply per stdout line: {"ok": true, "listing": [...]} or
                             {"ok": false, "error": "..."}   (used by tests/h5diff/run_diff.py)

The format and every rule (walk order, string trimming, surrogate escapes, float and NaN
spelling, hash definitions) are specified at the top of src/cli/h5ls.cpp; this file follows them
using h5py's reading of the file. Listings are compared as parsed JSON values, so whitespace
and escaping style do not matter, but value types do (1 is not 1.0).

Walk: links are listed with h5py's low-level API (bytes names, byte-wise sorted), following every
hard link (not visititems, which lists an object once); a hard link back to a group on the
current path is listed without descending. Soft/external links are not followed.
"""

import argparse
import hashlib
import json
import math
import sys

import h5py
import numpy as np

DEFAULT_MAX_DATA_BYTES = 1 << 30
MAX_DEPTH = 256
MAX_ENTRIES = 10_000_000
MAX_PRINTED_ELEMENTS = 1 << 24  # per attribute


def text(b):
    """Bytes -> str by the listing's rule: UTF-8, invalid bytes as surrogate escapes."""
    if isinstance(b, str):
        return b
    return bytes(b).decode("utf-8", "surrogateescape")


def vlen_bytes(s):
    """A vlen string as h5py returns it (str or bytes) -> its bytes up to the first NUL."""
    if isinstance(s, str):
        s = s.encode("utf-8", "surrogateescape")
    return bytes(s).split(b"\0", 1)[0]


def fixed_bytes(b):
    """A fixed-length string element -> stored bytes minus trailing NULs (numpy S semantics)."""
    return bytes(b).rstrip(b"\0")


def json_float(x):
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


# ---------------------------------------------------------------------------------------------
# Types

PADS = {h5py.h5t.STR_NULLTERM: "nullterm", h5py.h5t.STR_NULLPAD: "nullpad",
        h5py.h5t.STR_SPACEPAD: "spacepad"}


def order_char(tid):
    return ">" if tid.get_order() == h5py.h5t.ORDER_BE else "<"


def is_bool_enum(tid):
    if tid.get_class() != h5py.h5t.ENUM or tid.get_nmembers() != 2:
        return False
    members = {tid.get_member_name(i): tid.get_member_value(i) for i in range(2)}
    return members == {b"FALSE": 0, b"TRUE": 1}


def type_string(tid):
    cls = tid.get_class()
    if cls == h5py.h5t.INTEGER:
        sign = "u" if tid.get_sign() == h5py.h5t.SGN_NONE else "i"
        return f"{order_char(tid)}{sign}{tid.get_size()}"
    if cls == h5py.h5t.FLOAT:
        return f"{order_char(tid)}f{tid.get_size()}"
    if cls == h5py.h5t.ENUM:
        return f"enum({type_string(tid.get_super())})"
    if cls == h5py.h5t.STRING:
        size = "vlen" if tid.is_variable_str() else f"fixed:{tid.get_size()}"
        cset = "utf8" if tid.get_cset() == h5py.h5t.CSET_UTF8 else "ascii"
        return f"str:{size}:{PADS.get(tid.get_strpad(), '?')}:{cset}"
    if cls == h5py.h5t.OPAQUE:
        return f"opaque:{tid.get_size()}"
    if cls == h5py.h5t.COMPOUND:
        return f"compound:{tid.get_size()}"
    if cls == h5py.h5t.ARRAY:
        return f"array:{tid.get_size()}"
    return "other"


def dtype_name(tid):
    cls = tid.get_class()
    if cls == h5py.h5t.INTEGER:
        return f"{'u' if tid.get_sign() == h5py.h5t.SGN_NONE else ''}int{8 * tid.get_size()}"
    if cls == h5py.h5t.FLOAT:
        return f"float{8 * tid.get_size()}"
    if cls == h5py.h5t.ENUM:
        return "bool" if is_bool_enum(tid) else "enum"
    return {h5py.h5t.STRING: "string", h5py.h5t.OPAQUE: "opaque",
            h5py.h5t.COMPOUND: "compound", h5py.h5t.ARRAY: "array"}.get(cls, "other")


def element_bytes(tid):
    if tid.get_class() == h5py.h5t.STRING and tid.is_variable_str():
        return 16
    return tid.get_size()


def shape_of(space):
    kind = space.get_simple_extent_type()
    if kind == h5py.h5s.NULL:
        return None
    if kind == h5py.h5s.SCALAR:
        return []
    return [int(d) for d in space.get_simple_extent_dims()]


# ---------------------------------------------------------------------------------------------
# Values

def nested(flat, shape):
    """Flat list of JSON values -> numpy-tolist()-style nesting; bare value for a scalar."""
    if shape is None:
        return None
    if not shape:
        return flat[0] if flat else None
    arr = np.empty(len(flat), dtype=object)
    arr[:] = flat
    return arr.reshape(shape).tolist()


def attribute_value(obj, name):
    aid = h5py.h5a.open(obj.id, name)
    tid = aid.get_type()
    shape = shape_of(aid.get_space())
    cls = tid.get_class()
    if shape is None:
        return None
    count = int(np.prod(shape)) if shape else 1
    if count > MAX_PRINTED_ELEMENTS:
        raise RuntimeError(f"attribute {name!r}: {count} elements, more than h5ls prints")
    if cls not in (h5py.h5t.INTEGER, h5py.h5t.FLOAT, h5py.h5t.ENUM, h5py.h5t.STRING,
                   h5py.h5t.OPAQUE):
        return nested([None] * count, shape)
    v = obj.attrs[name]
    flat = np.asarray(v, dtype=object if cls == h5py.h5t.STRING else None).reshape(-1)
    if cls == h5py.h5t.STRING:
        if tid.is_variable_str():
            items = [text(vlen_bytes(s)) for s in flat]
        else:
            items = [text(fixed_bytes(s)) for s in flat]
    elif cls == h5py.h5t.FLOAT:
        items = [json_float(x) for x in flat.tolist()]
    elif cls == h5py.h5t.OPAQUE:
        items = [bytes(x.tobytes()).hex() for x in flat]
    elif cls == h5py.h5t.ENUM and is_bool_enum(tid):
        items = [bool(x) for x in flat.tolist()]
    else:
        items = [int(x) for x in flat.tolist()]
    return nested(items, shape)


def attributes(obj):
    names = []
    h5py.h5a.iterate(obj.id, lambda n, *rest: names.append(n), index_type=h5py.h5.INDEX_NAME,
                     order=h5py.h5.ITER_INC)
    values, types = {}, {}
    for n in names:
        aid = h5py.h5a.open(obj.id, n)
        tid = aid.get_type()
        key = text(n)
        values[key] = attribute_value(obj, n)
        types[key] = {"dtype": dtype_name(tid), "type": type_string(tid),
                      "shape": shape_of(aid.get_space())}
    return values, types


def dataset_hash(ds, tid, space, max_data_bytes):
    shape = shape_of(space)
    count = 0 if shape is None else (int(np.prod(shape)) if shape else 1)
    if count > max_data_bytes // max(element_bytes(tid), 1):
        return None
    cls = tid.get_class()
    h = hashlib.sha256()
    if cls not in (h5py.h5t.INTEGER, h5py.h5t.FLOAT, h5py.h5t.ENUM, h5py.h5t.STRING,
                   h5py.h5t.OPAQUE):
        return None
    if count == 0:
        return h.hexdigest()
    arr = np.asarray(ds[()])
    if cls == h5py.h5t.STRING:
        vlen = tid.is_variable_str()
        for s in arr.reshape(-1):
            h.update(vlen_bytes(s) if vlen else fixed_bytes(s))
            h.update(b"\0")
    elif cls == h5py.h5t.OPAQUE:
        h.update(arr.tobytes())
    else:
        h.update(np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"))).tobytes())
    return h.hexdigest()


LAYOUTS = {h5py.h5d.COMPACT: "compact", h5py.h5d.CONTIGUOUS: "contiguous",
           h5py.h5d.CHUNKED: "chunked", h5py.h5d.VIRTUAL: "virtual"}


# ---------------------------------------------------------------------------------------------
# Walk

class Lister:
    def __init__(self, max_data_bytes):
        self.max_data_bytes = max_data_bytes
        self.out = []

    def add(self, entry):
        if len(self.out) >= MAX_ENTRIES:
            raise RuntimeError(f"more than {MAX_ENTRIES} paths")
        self.out.append(entry)

    # Object kinds and addresses come from h5i and the link itself rather than h5o.get_info,
    # which also reads header statistics that nothing here needs (and so would make h5py refuse
    # damaged files for reasons unrelated to the listing).
    def visit(self, oid, path, depth, ancestors, addr):
        kind = h5py.h5i.get_type(oid)
        if kind == h5py.h5i.GROUP:
            self.visit_group(h5py.Group(oid), path, depth, ancestors, addr)
        elif kind == h5py.h5i.DATASET:
            self.visit_dataset(h5py.Dataset(oid), path)
        elif kind == h5py.h5i.DATATYPE:
            obj = h5py.Datatype(oid)
            attrs, types = attributes(obj)
            self.add({"path": text(path), "kind": "datatype", "attrs": attrs,
                      "attr_types": types})
        else:
            raise RuntimeError(f"unknown object type {kind} at {path!r}")

    def visit_dataset(self, ds, path):
        tid = ds.id.get_type()
        space = ds.id.get_space()
        dcpl = ds.id.get_create_plist()
        attrs, types = attributes(ds)
        self.add({
            "path": text(path), "kind": "dataset", "dtype": dtype_name(tid),
            "type": type_string(tid), "shape": shape_of(space),
            "layout": LAYOUTS.get(dcpl.get_layout(), "?"),
            "filtered": dcpl.get_nfilters() > 0,
            "sha256": dataset_hash(ds, tid, space, self.max_data_bytes),
            "attrs": attrs, "attr_types": types})

    def visit_group(self, g, path, depth, ancestors, addr):
        if depth > MAX_DEPTH:
            raise RuntimeError(f"{path!r}: groups nested deeper than {MAX_DEPTH}")
        attrs, types = attributes(g)
        self.add({"path": text(path), "kind": "group", "attrs": attrs, "attr_types": types})
        if addr in ancestors:
            return
        names = []
        g.id.links.iterate(lambda n, *rest: names.append(n), idx_type=h5py.h5.INDEX_NAME,
                           order=h5py.h5.ITER_INC)
        for name in sorted(names):
            child = (b"/" if path == b"/" else path + b"/") + name
            linfo = g.id.links.get_info(name)
            ltype = linfo.type
            if ltype == h5py.h5l.TYPE_HARD:
                self.visit(h5py.h5o.open(g.id, name), child, depth + 1, ancestors + [addr],
                           linfo.u)
            elif ltype == h5py.h5l.TYPE_SOFT:
                self.add({"path": text(child), "kind": "softlink",
                          "target": text(g.id.links.get_val(name))})
            elif ltype == h5py.h5l.TYPE_EXTERNAL:
                fname, oname = g.id.links.get_val(name)
                self.add({"path": text(child), "kind": "externallink",
                          "target": text(bytes(fname) + b":" + bytes(oname))})
            else:
                raise RuntimeError(f"user-defined link type {ltype} at {child!r}")


def dump(path, max_data_bytes=DEFAULT_MAX_DATA_BYTES):
    with h5py.File(path, "r", locking=False) as f:
        lister = Lister(max_data_bytes)
        root = h5py.h5o.open(f.id, b"/")
        lister.visit(root, b"/", 0, [], h5py.h5o.get_info(root).addr)
        return lister.out


def to_json(listing):
    # One element per line, like h5ls's output, for readable diffs.
    return "[\n" + ",\n".join(json.dumps(e, ensure_ascii=True) for e in listing) + "\n]\n"


def serve():
    for line in sys.stdin:
        req = json.loads(line)
        try:
            reply = {"ok": True,
                     "listing": dump(req["file"], req.get("max_data_bytes", DEFAULT_MAX_DATA_BYTES))}
        except Exception as e:  # h5py/HDF5 refusing the file is an answer, not a failure here
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply, ensure_ascii=True) + "\n")
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", nargs="?")
    ap.add_argument("--max-data-bytes", type=int, default=DEFAULT_MAX_DATA_BYTES)
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()
    if args.serve:
        serve()
        return
    if args.file is None:
        ap.error("FILE is required")
    sys.stdout.write(to_json(dump(args.file, args.max_data_bytes)))


if __name__ == "__main__":
    main()
