#!/usr/bin/python3
"""Generates the C++ codecs of Strom's Kafka messages from messages/*.def.

Run by CMake at build time (standard library only):

    generate.py --out <dir> messages/produce.def messages/fetch.def ...

writes
    <dir>/include/strom/kafka/protocol/messages/<api>.h   one header per .def file
    <dir>/include/strom/kafka/protocol/messages.h         all of them + variants + dispatch
    <dir>/src/<api>.cc, <dir>/src/dispatch.cc
    <dir>/testing/strom/kafka/protocol/testing/fill.h     test helper: populate any message

Definition syntax (one .def file per API, '#' starts a comment line):

    message <name> api <key> versions <lo>-<hi> flexible <n>+|none
      <field> <type> [<versions>] [nullable [<versions>]] [tag <n>] [= <default>]
        <nested fields, indented two more spaces, for struct types>

  <type>      bool int8 int16 int32 int64 uint16 uint32 float64 uuid string bytes records
              error_code (INT16 on the wire, typed protocol::error_code),
              [<primitive>] (array), [<struct name>] (array of structs),
              {<struct name>} (one struct; used for tagged fields)
  <versions>  "<n>+", "<a>-<b>" or "<n>"; omitted = every version of the enclosing struct
  nullable    without versions: in every version the field exists
  tag <n>     a tagged field: only in flexible versions, in the struct's tagged-field section
  = <default> an integer, true, false, null, or "" ; omitted = 0 / false / empty

Wire order is declaration order for regular fields; tagged fields go in tag order at the end of
their struct. Struct names must be unique within a message and differ from every field name.
"""

import argparse
import os
import re
import sys

Q = '::strom::kafka::protocol'

PRIMITIVES = {
    # name: (C++ type, minimum encoded size non-flexible, flexible)
    'bool': ('bool', 1, 1),
    'int8': ('int8_t', 1, 1),
    'int16': ('int16_t', 2, 2),
    'int32': ('int32_t', 4, 4),
    'int64': ('int64_t', 8, 8),
    'uint16': ('uint16_t', 2, 2),
    'uint32': ('uint32_t', 4, 4),
    'float64': ('double', 8, 8),
    'uuid': (Q + '::uuid', 16, 16),
    'string': ('std::string', 2, 1),
    'bytes': ('std::vector<std::byte>', 4, 1),
    'records': (Q + '::records', 4, 1),
    'error_code': (Q + '::error_code', 2, 2),
}
INTEGERS = {'int8', 'int16', 'int32', 'int64', 'uint16', 'uint32'}

CPP_KEYWORDS = set('''alignas alignof and and_eq asm auto bitand bitor bool break case catch char
char8_t char16_t char32_t class compl concept const consteval constexpr constinit const_cast
continue co_await co_return co_yield decltype default delete do double dynamic_cast else enum
explicit export extern false float for friend goto if inline int long mutable namespace new
noexcept not not_eq nullptr operator or or_eq private protected public register
reinterpret_cast requires return short signed sizeof static static_assert static_cast struct
switch template this thread_local throw true try typedef typeid typename union unsigned using
virtual void volatile wchar_t while xor xor_eq'''.split())
RESERVED_MEMBERS = {'api', 'min_version', 'max_version', 'first_flexible_version', 'decode',
                    'encode', 'is_flexible'}
# Names the generated code uses for its own variables.
RESERVED_LOCALS = {'m', 'r', 'w', 't', 'e', 'f', 'version', 'flex'}


class DefError(Exception):
    pass


class Range:
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def __eq__(self, o):
        return self.lo == o.lo and self.hi == o.hi

    def contains(self, o):
        return self.lo <= o.lo and o.hi <= self.hi

    def intersect(self, o):
        lo, hi = max(self.lo, o.lo), min(self.hi, o.hi)
        return Range(lo, hi) if lo <= hi else None

    def __iter__(self):
        return iter(range(self.lo, self.hi + 1))


def parse_range(text, enclosing):
    m = re.fullmatch(r'(\d+)\+|(\d+)-(\d+)|(\d+)', text)
    if not m:
        raise DefError(f'bad version range "{text}"')
    if m.group(1) is not None:
        r = Range(int(m.group(1)), enclosing.hi)
    elif m.group(2) is not None:
        r = Range(int(m.group(2)), int(m.group(3)))
    else:
        r = Range(int(m.group(4)), int(m.group(4)))
    if r.lo > r.hi or not enclosing.contains(r):
        raise DefError(f'version range "{text}" outside {enclosing.lo}-{enclosing.hi}')
    return r


class Struct:
    def __init__(self, name, versions, message):
        self.name = name
        self.versions = versions
        self.message = message
        self.fields = []
        self.structs = []  # nested struct types declared in this struct

    @property
    def regular(self):
        return [f for f in self.fields if f.tag is None]

    @property
    def tagged(self):
        return sorted((f for f in self.fields if f.tag is not None), key=lambda f: f.tag)


class Field:
    def __init__(self, name, kind, elem, versions):
        self.name = name
        self.kind = kind  # 'prim', 'array', 'struct'
        self.elem = elem  # primitive name, or Struct
        self.versions = versions
        self.nullable = None  # Range or None
        self.tag = None
        self.default = None  # raw text or None

    @property
    def elem_is_struct(self):
        return isinstance(self.elem, Struct)

    @property
    def optional_type(self):
        """Whether the C++ member is a std::optional (nullable string/bytes/array)."""
        if self.nullable is None:
            return False
        return self.kind == 'array' or (self.kind == 'prim' and self.elem in ('string', 'bytes'))


class Message:
    def __init__(self, name, api_key, versions, flex_from, path):
        self.name = name
        self.api_key = api_key
        self.versions = versions
        self.flex_from = flex_from  # int or None
        self.path = path
        self.root = Struct(name, versions, self)
        self.all_structs = []

    @property
    def is_request(self):
        return self.name.endswith('_request')

    def flexible(self, v):
        return self.flex_from is not None and v >= self.flex_from


def parse_file(path):
    messages = []
    stack = []  # (indent, Struct)
    last_field = None
    last_indent = 0
    with open(path) as fh:
        lines = fh.read().split('\n')
    for lineno, raw in enumerate(lines, 1):
        try:
            if not raw.strip() or raw.lstrip().startswith('#'):
                continue
            indent = len(raw) - len(raw.lstrip(' '))
            toks = raw.split()
            if indent == 0:
                m = re.fullmatch(
                    r'message (\w+) api (\d+) versions (\d+)-(\d+) flexible (?:(\d+)\+|none)',
                    ' '.join(toks))
                if not m:
                    raise DefError('expected "message <name> api <key> versions <a>-<b> '
                                   'flexible <n>+|none"')
                name = m.group(1)
                if not (name.endswith('_request') or name.endswith('_response')):
                    raise DefError('message names end in _request or _response')
                versions = Range(int(m.group(3)), int(m.group(4)))
                flex = int(m.group(5)) if m.group(5) is not None else None
                msg = Message(name, int(m.group(2)), versions, flex, path)
                messages.append(msg)
                stack = [(2, msg.root)]
                last_field, last_indent = None, 0
                continue
            if not stack:
                raise DefError('field outside a message')
            if indent > last_indent and last_field is not None:
                if indent != last_indent + 2 or last_field.kind == 'prim' \
                        or not last_field.elem_is_struct:
                    raise DefError('unexpected indent')
                stack.append((indent, last_field.elem))
            while len(stack) > 1 and stack[-1][0] > indent:
                stack.pop()
            if stack[-1][0] != indent:
                raise DefError('bad indent')
            parent = stack[-1][1]
            last_field = parse_field(toks, parent)
            last_indent = indent
            parent.fields.append(last_field)
        except DefError as e:
            raise DefError(f'{path}:{lineno}: {e}') from None
    for msg in messages:
        check_message(msg)
    return messages


def parse_field(toks, parent):
    if len(toks) < 2:
        raise DefError('expected "<field> <type> ..."')
    name, typ = toks[0], toks[1]
    if not re.fullmatch(r'[a-z][a-z0-9_]*', name):
        raise DefError(f'bad field name "{name}"')
    rest = toks[2:]
    versions = parent.versions
    if rest and re.fullmatch(r'\d+\+?|\d+-\d+', rest[0]):
        versions = parse_range(rest.pop(0), parent.versions)
    msg = parent.message
    m_arr = re.fullmatch(r'\[(\w+)\]', typ)
    m_struct = re.fullmatch(r'\{(\w+)\}', typ)
    if m_arr and m_arr.group(1) in PRIMITIVES:
        if m_arr.group(1) == 'records':
            raise DefError('no arrays of records')
        f = Field(name, 'array', m_arr.group(1), versions)
    elif m_arr or m_struct:
        sname = (m_arr or m_struct).group(1)
        s = Struct(sname, versions, msg)
        parent.structs.append(s)
        msg.all_structs.append(s)
        f = Field(name, 'array' if m_arr else 'struct', s, versions)
    elif typ in PRIMITIVES:
        f = Field(name, 'prim', typ, versions)
    else:
        raise DefError(f'unknown type "{typ}"')
    while rest:
        t = rest.pop(0)
        if t == 'nullable':
            if rest and re.fullmatch(r'\d+\+?|\d+-\d+', rest[0]):
                f.nullable = parse_range(rest.pop(0), versions)
            else:
                f.nullable = versions
        elif t == 'tag':
            if not rest or not rest[0].isdigit():
                raise DefError('tag needs a number')
            f.tag = int(rest.pop(0))
        elif t == '=':
            if not rest:
                raise DefError('= needs a value')
            f.default = rest.pop(0)
        else:
            raise DefError(f'unexpected "{t}"')
    if f.nullable is not None and f.kind == 'struct':
        raise DefError('nullable structs are not supported')
    if f.nullable is not None and f.kind == 'prim' and f.elem not in ('string', 'bytes', 'records'):
        raise DefError(f'{f.elem} cannot be nullable')
    if f.tag is not None:
        if msg.flex_from is None or versions.lo < msg.flex_from:
            raise DefError('tagged fields must be in flexible versions only')
    if f.default is not None:
        check_default(f)
    return f


def check_default(f):
    d = f.default
    if d == 'null':
        if f.nullable is None or f.nullable != f.versions:
            raise DefError(f'{f.name}: default null needs "nullable" in all its versions')
        return
    if f.kind == 'prim' and f.elem in INTEGERS:
        if not re.fullmatch(r'-?(0x[0-9a-fA-F]+|\d+)', d):
            raise DefError(f'{f.name}: bad integer default "{d}"')
        return
    if f.kind == 'prim' and f.elem == 'bool' and d in ('true', 'false'):
        return
    if f.kind == 'prim' and f.elem == 'string' and re.fullmatch(r'"[^"\\]*"', d):
        return
    raise DefError(f'{f.name}: unsupported default "{d}" for {f.elem}')


def check_message(msg):
    names = {}

    def walk(s, depth):
        seen = set()
        tags = set()
        for f in s.fields:
            if f.name in seen:
                raise DefError(f'{msg.name}: duplicate field {f.name}')
            seen.add(f.name)
            if f.name in CPP_KEYWORDS or f.name in RESERVED_LOCALS:
                raise DefError(f'{msg.name}: field name "{f.name}" is reserved')
            if depth == 0 and f.name in RESERVED_MEMBERS:
                raise DefError(f'{msg.name}: field name "{f.name}" is reserved')
            if f.tag is not None:
                if f.tag in tags:
                    raise DefError(f'{msg.name}: duplicate tag {f.tag} in {s.name}')
                tags.add(f.tag)
            if f.kind != 'prim' and f.elem_is_struct:
                walk(f.elem, depth + 1)

    walk(msg.root, 0)
    field_names = set()

    def collect(s):
        for f in s.fields:
            field_names.add(f.name)
            if f.kind != 'prim' and f.elem_is_struct:
                collect(f.elem)

    collect(msg.root)
    for s in msg.all_structs:
        if s.name in names:
            raise DefError(f'{msg.name}: duplicate struct name {s.name}')
        names[s.name] = s
        if s.name in field_names or s.name in CPP_KEYWORDS or s.name == msg.name:
            raise DefError(f'{msg.name}: struct name "{s.name}" collides with a field name')


# ----------------------------------------------------------------------------------------------
# C++ helpers

def cond(r, within):
    """C++ condition for `version` in r, knowing version is in `within`."""
    if r is None:
        return 'false'
    r = r.intersect(within)
    if r is None:
        return 'false'
    parts = []
    if r.lo > within.lo:
        parts.append(f'version >= {r.lo}')
    if r.hi < within.hi:
        parts.append(f'version <= {r.hi}')
    return ' && '.join(parts) if parts else 'true'


def cpp_base_type(f):
    if f.kind == 'prim':
        return PRIMITIVES[f.elem][0]
    if f.kind == 'struct':
        return f.elem.name
    inner = f.elem.name if f.elem_is_struct else PRIMITIVES[f.elem][0]
    return f'std::vector<{inner}>'


def cpp_type(f):
    t = cpp_base_type(f)
    return f'std::optional<{t}>' if f.optional_type else t


def cpp_init(f):
    """Contents of the member's brace initializer."""
    d = f.default
    if f.kind == 'prim' and f.elem == 'records':
        return f'{Q}::records::null()' if d == 'null' else ''
    if f.optional_type:
        return '' if d == 'null' else 'std::in_place'
    if d is None:
        return ''
    if f.kind == 'prim' and f.elem in INTEGERS:
        v = int(d, 0)
        if f.elem == 'int32' and v == -2**31:
            return 'INT32_MIN'
        if f.elem == 'int64' and v == -2**63:
            return 'INT64_MIN'
        return d
    return d


def min_size(s, v, flex):
    """Smallest encoding of struct s at version v."""
    total = 0
    for f in s.regular:
        if not (f.versions.lo <= v <= f.versions.hi):
            continue
        if f.kind == 'prim':
            total += PRIMITIVES[f.elem][2 if flex else 1]
        elif f.kind == 'array':
            total += 1 if flex else 4
        else:
            total += min_size(f.elem, v, flex)
    if flex:
        total += 1  # tagged-field count
    return total


def struct_min_size(s):
    msg = s.message
    return max(1, min(min_size(s, v, msg.flexible(v)) for v in s.versions))


def elem_min_size(f, flex_possible):
    if f.elem_is_struct:
        return struct_min_size(f.elem)
    sizes = PRIMITIVES[f.elem]
    return max(1, min(sizes[1], sizes[2]) if flex_possible else sizes[1])


# ----------------------------------------------------------------------------------------------
# Header

def version_text(r, msg_versions):
    if r.hi == msg_versions.hi:
        return f'v{r.lo}+'
    return f'v{r.lo}' if r.lo == r.hi else f'v{r.lo}-{r.hi}'


def emit_struct_decl(s, out, ind, top):
    p = '  ' * ind
    out.append(f'{p}struct {s.name} {{')
    if top:
        msg = s.message
        ff = msg.flex_from if msg.flex_from is not None else -1
        out.append(f'{p}  static constexpr {Q}::api_key api = static_cast<{Q}::api_key>({msg.api_key});')
        out.append(f'{p}  static constexpr int16_t min_version = {msg.versions.lo};')
        out.append(f'{p}  static constexpr int16_t max_version = {msg.versions.hi};')
        out.append(f'{p}  /// First flexible version (compact encodings, tagged fields); -1 if none.')
        out.append(f'{p}  static constexpr int16_t first_flexible_version = {ff};')
        out.append(f'{p}  static constexpr bool is_flexible(int16_t version) {{')
        out.append(f'{p}    return first_flexible_version >= 0 && version >= first_flexible_version;')
        out.append(f'{p}  }}')
        out.append('')
    if top:
        # Every nested struct is declared at message level, dependencies first.
        for sub in post_order(s)[:-1]:
            emit_struct_decl(sub, out, ind + 1, False)
            out.append('')
    for f in s.fields:
        notes = []
        if f.versions != s.versions:
            notes.append(version_text(f.versions, s.message.versions))
        if f.nullable is not None:
            notes.append('nullable' + ('' if f.nullable == f.versions else
                                       ' ' + version_text(f.nullable, s.message.versions)))
        if f.tag is not None:
            notes.append(f'tag {f.tag}')
        comment = f'  // {", ".join(notes)}' if notes else ''
        out.append(f'{p}  {cpp_type(f)} {f.name}{{{cpp_init(f)}}};{comment}')
    if top:
        out.append('')
        out.append(f'{p}  /// Decodes the message at `version` from `r`; fields the version lacks get their')
        out.append(f'{p}  /// defaults. Unknown tagged fields are skipped. Records point into r\'s buffer.')
        out.append(f'{p}  [[nodiscard]] ::strom::status decode({Q}::reader& r, int16_t version);')
        out.append(f'{p}  /// Encodes the fields `version` carries. REQUIRES: version in [min, max].')
        out.append(f'{p}  void encode({Q}::writer& w, int16_t version) const;')
    out.append(f'{p}  friend bool operator==(const {s.name}&, const {s.name}&) = default;')
    out.append(f'{p}}};')


def gen_header(api, msgs):
    out = [
        '// Generated by src/kafka/protocol/generate.py from messages/' + api + '.def. Do not edit.',
        '#pragma once',
        '',
        '#include <cstddef>',
        '#include <cstdint>',
        '#include <optional>',
        '#include <string>',
        '#include <vector>',
        '',
        '#include "strom/base/result.h"',
        '#include "strom/kafka/protocol/api.h"',
        '#include "strom/kafka/protocol/error_code.h"',
        '#include "strom/kafka/protocol/reader.h"',
        '#include "strom/kafka/protocol/types.h"',
        '#include "strom/kafka/protocol/writer.h"',
        '',
        'namespace strom::kafka::protocol {',
        '',
    ]
    for msg in msgs:
        emit_struct_decl(msg.root, out, 0, True)
        out.append('')
    out.append('}  // namespace strom::kafka::protocol')
    return '\n'.join(out) + '\n'


# ----------------------------------------------------------------------------------------------
# Codec source

def qual(s):
    """Qualified C++ name of struct s (nested structs are members of their message)."""
    msg = s.message
    if s is msg.root:
        return f'{Q}::{msg.name}'
    return f'{Q}::{msg.name}::{s.name}'


def elem_type(f):
    if f.elem_is_struct:
        return qual(f.elem)
    return PRIMITIVES[f.elem][0]


def prim_read(elem, rd):
    if elem == 'error_code':
        return f'static_cast<{Q}::error_code>({rd}.read_int16())'
    if elem == 'string':
        return f'{rd}.read_string(flex)'
    if elem == 'bytes':
        return f'{rd}.read_bytes(flex)'
    return f'{rd}.read_{elem}()'


def prim_write(elem, wr, val):
    if elem == 'error_code':
        return f'{wr}.write_int16(static_cast<int16_t>({val}));'
    if elem == 'string':
        return f'{wr}.write_string({val}, flex);'
    if elem == 'bytes':
        return f'{wr}.write_bytes({val}, flex);'
    return f'{wr}.write_{elem}({val});'


def decode_field(f, dst, rd, within, p):
    """Lines decoding field f into dst using reader rd."""
    ncond = cond(f.nullable, f.versions)
    if f.kind == 'prim':
        if f.elem == 'records':
            return [f'{p}{dst} = {rd}.read_records(flex, {ncond});']
        if f.optional_type:
            fn = 'read_string_field' if f.elem == 'string' else 'read_bytes_field'
            return [f'{p}detail::{fn}({rd}, flex, {ncond}, {dst});']
        return [f'{p}{dst} = {prim_read(f.elem, rd)};']
    if f.kind == 'struct':
        return [f'{p}decode_struct({rd}, {dst}, version);']
    et = elem_type(f)
    if f.elem_is_struct:
        body = f'decode_struct({rd}, e, version);'
    else:
        body = f'e = {prim_read(f.elem, rd)};'
    ms = elem_min_size(f, f.elem_is_struct or f.elem in ('string', 'bytes'))
    if f.optional_type:
        return [f'{p}detail::read_array({rd}, flex, {ncond}, {ms}, {dst}, [&]({et}& e) {{ {body} }});']
    return [f'{p}detail::read_array({rd}, flex, {ms}, {dst}, [&]({et}& e) {{ {body} }});']


def encode_field(f, src, wr, p):
    ncond = cond(f.nullable, f.versions)
    if f.kind == 'prim':
        if f.elem == 'records':
            return [f'{p}detail::write_records_field({wr}, flex, {ncond}, {src});']
        if f.optional_type:
            fn = 'write_string_field' if f.elem == 'string' else 'write_bytes_field'
            return [f'{p}detail::{fn}({wr}, flex, {ncond}, {src});']
        return [f'{p}{prim_write(f.elem, wr, src)}']
    if f.kind == 'struct':
        return [f'{p}encode_struct({wr}, {src}, version);']
    et = elem_type(f)
    if f.elem_is_struct:
        body = f'encode_struct({wr}, e, version);'
    else:
        body = prim_write(f.elem, wr, 'e')
    if f.optional_type:
        return [f'{p}detail::write_array({wr}, flex, {ncond}, {src}, [&](const {et}& e) {{ {body} }});']
    return [f'{p}detail::write_array({wr}, flex, {src}, [&](const {et}& e) {{ {body} }});']


def guarded(c, lines, p):
    if c == 'true':
        return lines
    if c == 'false':
        return []
    return [f'{p}if ({c}) {{'] + ['  ' + l for l in lines] + [f'{p}}}']


def flex_decl(msg, s):
    if msg.flex_from is None:
        return '  [[maybe_unused]] const bool flex = false;'
    if msg.flex_from <= s.versions.lo:
        return '  [[maybe_unused]] const bool flex = true;'
    return f'  [[maybe_unused]] const bool flex = version >= {msg.flex_from};'


def gen_struct_codec(s, out):
    msg = s.message
    t = qual(s)
    within = s.versions
    has_flex = msg.flex_from is not None and msg.flex_from <= s.versions.hi
    # decode
    out.append(f'void decode_struct(reader& r, {t}& m, [[maybe_unused]] int16_t version) {{')
    out.append(flex_decl(msg, s))
    for f in s.regular:
        out += guarded(cond(f.versions, within), decode_field(f, f'm.{f.name}', 'r', within, '  '), '  ')
    if has_flex:
        tagged = s.tagged
        if not tagged:
            body = ['  r.skip_tagged_fields();']
        else:
            body = ['  r.read_tagged_fields([&](uint32_t tag, reader& t) {', '    switch (tag) {']
            for f in tagged:
                body.append(f'      case {f.tag}:')
                c = cond(f.versions, within)
                if c != 'true':
                    body.append(f'        if (!({c})) {{')
                    body.append('          return false;')
                    body.append('        }')
                body += decode_field(f, f'm.{f.name}', 't', within, '        ')
                body.append('        return true;')
            body += ['      default:', '        return false;', '    }', '  });']
        flex_c = 'flex'
        out += ([f'  if ({flex_c}) {{'] + ['  ' + l for l in body] + ['  }'])
    out.append('}')
    out.append('')
    # encode
    out.append(f'void encode_struct(writer& w, const {t}& m, [[maybe_unused]] int16_t version) {{')
    out.append(flex_decl(msg, s))
    for f in s.regular:
        out += guarded(cond(f.versions, within), encode_field(f, f'm.{f.name}', 'w', '  '), '  ')
    if has_flex:
        tagged = s.tagged
        body = []
        if not tagged:
            body.append('  w.write_unsigned_varint(0);')
        else:
            names = []
            for f in tagged:
                c = cond(f.versions, within)
                n = f'tag{f.tag}'
                names.append(n)
                dflt = f'decltype(m.{f.name}){{{cpp_init(f)}}}'
                body.append(f'  const bool {n} = ({c}) && !(m.{f.name} == {dflt});')
            body.append('  w.write_unsigned_varint(' +
                        ' + '.join(f'static_cast<uint32_t>({n})' for n in names) + ');')
            for f, n in zip(tagged, names):
                body.append(f'  if ({n}) {{')
                body.append('    writer t;')
                body += encode_field(f, f'm.{f.name}', 't', '    ')
                body.append(f'    w.write_tagged_field({f.tag}, t);')
                body.append('  }')
        out += (['  if (flex) {'] + ['  ' + l for l in body] + ['  }'])
    out.append('}')
    out.append('')


def post_order(s):
    res = []
    for sub in s.structs:
        res += post_order(sub)
    res.append(s)
    return res


def gen_source(api, msgs):
    out = [
        '// Generated by src/kafka/protocol/generate.py from messages/' + api + '.def. Do not edit.',
        f'#include "strom/kafka/protocol/messages/{api}.h"',
        '',
        '#include "kafka/protocol/codec_impl.h"',
        '#include "strom/base/assert.h"',
        '',
        'namespace strom::kafka::protocol {',
        'namespace {',
        '',
    ]
    for msg in msgs:
        for s in post_order(msg.root):
            gen_struct_codec(s, out)
    out.append('}  // namespace')
    out.append('')
    for msg in msgs:
        n = msg.name
        out += [
            f'status {n}::decode(reader& r, int16_t version) {{',
            '  if (version < min_version || version > max_version) {',
            f'    r.fail(errc::unsupported_version, "{n} version");',
            '    return r.check();',
            '  }',
            f'  *this = {n}{{}};',
            '  decode_struct(r, *this, version);',
            '  return r.check();',
            '}',
            '',
            f'void {n}::encode(writer& w, int16_t version) const {{',
            '  STROM_ASSERT(version >= min_version && version <= max_version,',
            f'               "{n} v{{}} is outside the codec\'s range", version);',
            '  encode_struct(w, *this, version);',
            '}',
            '',
        ]
    out.append('}  // namespace strom::kafka::protocol')
    return '\n'.join(out) + '\n'


# ----------------------------------------------------------------------------------------------
# Umbrella header + dispatch

def gen_umbrella(apis):
    reqs = [m for _, ms in apis for m in ms if m.is_request]
    resps = [m for _, ms in apis for m in ms if not m.is_request]
    out = [
        '// Generated by src/kafka/protocol/generate.py. Do not edit.',
        '#pragma once',
        '',
        '#include <cstdint>',
        '#include <span>',
        '#include <variant>',
        '',
        '#include "strom/base/result.h"',
        '#include "strom/kafka/protocol/api.h"',
        '#include "strom/kafka/protocol/reader.h"',
        '#include "strom/kafka/protocol/writer.h"',
    ]
    for api, _ in apis:
        out.append(f'#include "strom/kafka/protocol/messages/{api}.h"')
    out += ['', 'namespace strom::kafka::protocol {', '']
    out.append('/// Any request body, one alternative per API (ordered by API key).')
    out.append('using request_body = std::variant<' + ', '.join(m.name for m in reqs) + '>;')
    out.append('/// Any response body, one alternative per API (ordered by API key).')
    out.append('using response_body = std::variant<' + ', '.join(m.name for m in resps) + '>;')
    out += [
        '',
        '/// Decodes a request body (the header already read) of `key` at `version`.',
        '/// errc::unknown_api_key / errc::unsupported_version outside the codec\'s ranges.',
        '[[nodiscard]] result<request_body> decode_request_body(api_key key, int16_t version, reader& r);',
        '[[nodiscard]] result<response_body> decode_response_body(api_key key, int16_t version, reader& r);',
        '/// Encodes the body at `version`. REQUIRES: version in the message\'s codec range.',
        'void encode_body(writer& w, int16_t version, const request_body& body);',
        'void encode_body(writer& w, int16_t version, const response_body& body);',
        '[[nodiscard]] api_key key_of(const request_body& body);',
        '[[nodiscard]] api_key key_of(const response_body& body);',
        '',
        '/// The version range the codec implements per API (a superset of supported_apis()).',
        'struct codec_versions {',
        '  api_key key;',
        '  int16_t min_version;',
        '  int16_t max_version;',
        '  int16_t first_flexible_version;  ///< -1: none',
        '};',
        '[[nodiscard]] std::span<const codec_versions> codec_apis();',
        '',
        '/// message_types<api_key::produce>::request is produce_request, and so on.',
        'template <api_key K>',
        'struct message_types;',
    ]
    for (api, ms) in apis:
        rq = [m for m in ms if m.is_request][0]
        rs = [m for m in ms if not m.is_request][0]
        out += [
            'template <>',
            f'struct message_types<static_cast<api_key>({rq.api_key})> {{',
            f'  using request = {rq.name};',
            f'  using response = {rs.name};',
            '};',
        ]
    out += ['', '}  // namespace strom::kafka::protocol']
    return '\n'.join(out) + '\n'


def gen_dispatch(apis):
    out = [
        '// Generated by src/kafka/protocol/generate.py. Do not edit.',
        '#include <array>',
        '',
        '#include "strom/kafka/protocol/messages.h"',
        '',
        'namespace strom::kafka::protocol {',
        '',
    ]
    for kind, typ in (('request', 'request_body'), ('response', 'response_body')):
        out += [
            f'result<{typ}> decode_{kind}_body(api_key key, int16_t version, reader& r) {{',
            '  switch (static_cast<int16_t>(key)) {',
        ]
        for api, ms in apis:
            m = [x for x in ms if x.is_request == (kind == 'request')][0]
            out += [
                f'    case {m.api_key}: {{',
                f'      {m.name} body;',
                '      STROM_TRY(body.decode(r, version));',
                f'      return {typ}(std::in_place_type<{m.name}>, std::move(body));',
                '    }',
            ]
        out += [
            '    default:',
            '      return strom::error(errc::unknown_api_key, std::to_string(static_cast<int16_t>(key)));',
            '  }',
            '}',
            '',
            f'void encode_body(writer& w, int16_t version, const {typ}& body) {{',
            '  std::visit([&](const auto& m) { m.encode(w, version); }, body);',
            '}',
            '',
            f'api_key key_of(const {typ}& body) {{',
            '  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::api; }, body);',
            '}',
            '',
        ]
    out.append(f'std::span<const codec_versions> codec_apis() {{')
    out.append(f'  static constexpr std::array<codec_versions, {len(apis)}> apis = {{{{')
    for api, ms in apis:
        m = ms[0]
        ff = m.flex_from if m.flex_from is not None else -1
        out.append(f'      {{static_cast<api_key>({m.api_key}), {m.versions.lo}, {m.versions.hi}, {ff}}},')
    out += ['  }};', '  return apis;', '}', '', '}  // namespace strom::kafka::protocol']
    return '\n'.join(out) + '\n'


# ----------------------------------------------------------------------------------------------
# Test helper: fill every field a version carries with distinct values

def fill_value(f, p, dst):
    """Lines assigning a non-default value to dst."""
    if f.kind == 'prim':
        e = f.elem
        if e == 'bool':
            return [f'{p}{dst} = {"false" if f.default == "true" else "true"};']
        if e in INTEGERS:
            return [f'{p}{dst} = static_cast<{PRIMITIVES[e][0]}>(f.next());']
        if e == 'error_code':
            return [f'{p}{dst} = static_cast<{Q}::error_code>(f.next());']
        if e == 'float64':
            return [f'{p}{dst} = f.next() + 0.5;']
        return [f'{p}{dst} = f.make_{e}();']
    if f.kind == 'struct':
        return [f'{p}fill(f, {dst}, version);']
    et = elem_type(f)
    target = f'{dst}.emplace()' if f.optional_type else dst
    if f.elem_is_struct:
        body = 'fill(f, e, version);'
    else:
        inner = Field('e', 'prim', f.elem, f.versions)
        body = fill_value(inner, '', 'e')[0]
    return [f'{p}for (auto& e : f.elements<{et}>({target})) {{ {body} }}']


def gen_fill(apis):
    out = [
        '// Generated by src/kafka/protocol/generate.py. Do not edit.',
        '// Test helper: fill(filler&, message&, version) gives every field the version carries a',
        '// distinct non-default value (nullable ones alternately null in filler::alternate_nulls',
        '// mode), so that decode(encode(m)) == m is a complete round-trip check.',
        '#pragma once',
        '',
        '#include <cstdint>',
        '#include <deque>',
        '#include <string>',
        '#include <vector>',
        '',
        '#include "strom/kafka/protocol/messages.h"',
        '',
        'namespace strom::kafka::protocol::testing {',
        '',
        'class filler {',
        ' public:',
        '  explicit filler(bool alternate_nulls = false) : alternate_nulls_(alternate_nulls) {}',
        '  int next() { return ++counter_; }',
        '  /// Whether the next nullable field should be null.',
        '  bool null_now() { return alternate_nulls_ && (++null_counter_ % 2 == 1); }',
        '  std::string make_string() { return "s" + std::to_string(next()); }',
        '  std::vector<std::byte> make_bytes() {',
        '    return {std::byte{0xb1}, static_cast<std::byte>(next()), std::byte{0}};',
        '  }',
        '  uuid make_uuid() {',
        '    uuid u;',
        '    for (auto& b : u.bytes) {',
        '      b = static_cast<std::byte>(next());',
        '    }',
        '    return u;',
        '  }',
        '  /// Record bytes owned by the filler (it must outlive the message).',
        '  records make_records() {',
        '    auto& buf = storage_.emplace_back();',
        '    for (int i = 0; i < 7; ++i) {',
        '      buf.push_back(static_cast<std::byte>(next()));',
        '    }',
        '    return records(buf);',
        '  }',
        '  /// Two fresh elements appended to `v`.',
        '  template <typename T>',
        '  std::vector<T>& elements(std::vector<T>& v) {',
        '    v.assign(2, T{});',
        '    return v;',
        '  }',
        '',
        ' private:',
        '  bool alternate_nulls_;',
        '  int counter_ = 0;',
        '  int null_counter_ = 0;',
        '  std::deque<std::vector<std::byte>> storage_;',
        '};',
        '',
    ]
    all_msgs = [m for _, ms in apis for m in ms]
    for msg in all_msgs:
        for s in post_order(msg.root):
            out.append(f'inline void fill(filler& f, {qual(s)}& m, [[maybe_unused]] int16_t version);')
    out.append('')
    for msg in all_msgs:
        for s in post_order(msg.root):
            out.append(f'inline void fill([[maybe_unused]] filler& f, {qual(s)}& m, [[maybe_unused]] int16_t version) {{')
            for fl in s.fields:
                lines = []
                ncond = cond(fl.nullable, fl.versions)
                value = fill_value(fl, '    ', f'm.{fl.name}')
                if ncond != 'false':
                    if fl.kind == 'prim' and fl.elem == 'records':
                        null_stmt = f'm.{fl.name} = {Q}::records::null();'
                    else:
                        null_stmt = f'm.{fl.name}.reset();'
                    lines.append(f'  if (({ncond}) && f.null_now()) {{')
                    lines.append(f'    {null_stmt}')
                    lines.append('  } else {')
                    lines += value
                    lines.append('  }')
                else:
                    lines += [l[2:] for l in value]
                out += guarded(cond(fl.versions, s.versions), lines, '  ')
            out.append('}')
            out.append('')
    out.append('}  // namespace strom::kafka::protocol::testing')
    out.append('')
    out.append('/// Every generated message type, for typed tests.')
    out.append('#define STROM_KAFKA_PROTOCOL_MESSAGE_TYPES \\')
    names = [f'  ::strom::kafka::protocol::{m.name}' for m in all_msgs]
    out.append(', \\\n'.join(names))
    return '\n'.join(out) + '\n'


# ----------------------------------------------------------------------------------------------

def write(path, text):
    # Always rewritten (never "only if changed") so every output is newer than the inputs.
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as fh:
        fh.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('defs', nargs='+')
    args = ap.parse_args()
    apis = []
    try:
        for path in args.defs:
            api = os.path.splitext(os.path.basename(path))[0]
            msgs = parse_file(path)
            kinds = sorted(m.is_request for m in msgs)
            if kinds != [False, True]:
                raise DefError(f'{path}: needs exactly one request and one response')
            if len({(m.api_key, m.versions.lo, m.versions.hi, m.flex_from) for m in msgs}) != 1:
                raise DefError(f'{path}: request and response disagree on key/versions/flexible')
            msgs.sort(key=lambda m: not m.is_request)
            apis.append((api, msgs))
    except DefError as e:
        print(f'generate.py: {e}', file=sys.stderr)
        return 1
    apis.sort(key=lambda a: a[1][0].api_key)
    if len({ms[0].api_key for _, ms in apis}) != len(apis):
        print('generate.py: duplicate api key', file=sys.stderr)
        return 1
    inc = os.path.join(args.out, 'include', 'strom', 'kafka', 'protocol')
    for api, msgs in apis:
        write(os.path.join(inc, 'messages', api + '.h'), gen_header(api, msgs))
        write(os.path.join(args.out, 'src', api + '.cc'), gen_source(api, msgs))
    write(os.path.join(inc, 'messages.h'), gen_umbrella(apis))
    write(os.path.join(args.out, 'src', 'dispatch.cc'), gen_dispatch(apis))
    write(os.path.join(args.out, 'testing', 'strom', 'kafka', 'protocol', 'testing', 'fill.h'),
          gen_fill(apis))
    return 0


if __name__ == '__main__':
    sys.exit(main())
