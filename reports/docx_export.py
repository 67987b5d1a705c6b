"""The filled survey form as a Word document (python-docx), ready to print, sign and stamp.

It lays out the same view as the HTML form (reports/survey_form.py) in the layout of Vietnamese
administrative documents: A4, Times New Roman 13 pt, margins 20/15/20/25 mm, bordered tables,
☒/☐ tick boxes, signature blocks at the end. Answers are set in ink blue after a mark saying
where they came from ([KK] declared, [Q] scan, [TH] generated, [BS] to complete). Every string
is written as text; characters XML 1.0 cannot carry (a hostile banner's control bytes) become
U+FFFD instead of breaking the file.
"""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph

from reports import Texts
from reports.formats import XML_INVALID
from reports.survey_form import FilledForm, Line, Question, Section, Table, Tick, build_form
from scanner.scanfile import ScanFile

FONT = "Times New Roman"
BOX_FONT = "Segoe UI Symbol"  # Times New Roman has no ballot boxes; Word and LibreOffice substitute if absent
SIZE = Pt(13)
TABLE_SIZE = Pt(11)
MARK_SIZE = Pt(8)
INK = RGBColor(0x0D, 0x3B, 0x8C)
WARN = RGBColor(0x9A, 0x4A, 0x00)
MUTED = RGBColor(0x55, 0x55, 0x55)
MARK_COLOR = {"declared": RGBColor(0x6B, 0x3F, 0xA0), "scan": INK, "generated": RGBColor(0x1D, 0x6B, 0x45),
              "missing": WARN}
BOX_ON, BOX_OFF = "☒", "☐"
TEXT_WIDTH_MM = 210 - 25 - 15  # A4 minus the left and right margins
DOTS = "…" * 60


def _x(text: str) -> str:
    return XML_INVALID.sub("\ufffd", text)


def _run(p: Paragraph, text: str, *, bold: bool = False, italic: bool = False, size: Pt | None = None,
         color: RGBColor | None = None, font: str | None = None):
    run = p.add_run(_x(text))
    run.bold, run.italic = bold or None, italic or None
    if size:
        run.font.size = size
    if color:
        run.font.color.rgb = color
    if font:
        run.font.name = font
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    return run


def _para(doc_or_cell, *, align=None, indent_mm: float = 0, before: float = 0, after: float = 2,
          keep_next: bool = False) -> Paragraph:
    p = doc_or_cell.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if indent_mm:
        fmt.left_indent = Mm(indent_mm)
    if align is not None:
        p.alignment = align
    if keep_next:
        fmt.keep_with_next = True
    return p


# -- pieces ----------------------------------------------------------------------------------------
def _ticks(doc: DocumentType, ticks: tuple[Tick, ...]) -> None:
    p = _para(doc, indent_mm=8)
    for tick in ticks:
        _run(p, (BOX_ON if tick.on else BOX_OFF) + " ", font=BOX_FONT, color=INK if tick.on else None)
        _run(p, tick.label + "\u2003\u2003")


def _line(doc: DocumentType, line: Line, texts: Texts) -> None:
    p = _para(doc, indent_mm=8, after=1)
    _run(p, f"[{texts.t('form.tag.' + line.source)}] ", bold=True, size=MARK_SIZE, color=MARK_COLOR[line.source])
    _run(p, line.text, italic=line.source in ("declared", "missing"), color=WARN if line.source == "missing" else INK)


def _repeat_as_header(row) -> None:
    props = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    props.append(flag)


def _cell_text(cell, text: str, *, bold: bool = False, center: bool = False, color: RGBColor | None = None,
               italic: bool = False, font: str | None = None) -> None:
    p = cell.paragraphs[0]
    p.paragraph_format.space_after = Pt(0)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(p, text, bold=bold, size=TABLE_SIZE, color=color, italic=italic, font=font)  # "\n" becomes a line break


def _table(doc: DocumentType, table: Table) -> DocxTable:
    columns = len(table.widths)
    rows = len(table.header) + max(len(table.rows), 1)
    out = doc.add_table(rows=rows, cols=columns)
    out.style = "Table Grid"
    out.alignment = WD_TABLE_ALIGNMENT.CENTER
    total = sum(table.widths)
    for row in out.rows:
        for i, cell in enumerate(row.cells):
            cell.width = Mm(TEXT_WIDTH_MM * table.widths[i] / total)
    # Header cells may span rows and columns (the XI.3 table's "Phương án" over Có | Không).
    taken: set[tuple[int, int]] = set()
    for r, header_row in enumerate(table.header):
        c = 0
        for hc in header_row:
            while (r, c) in taken:
                c += 1
            cell = out.cell(r, c)
            if hc.rowspan > 1 or hc.colspan > 1:
                cell = cell.merge(out.cell(r + hc.rowspan - 1, c + hc.colspan - 1))
            taken.update((r + dr, c + dc) for dr in range(hc.rowspan) for dc in range(hc.colspan))
            _cell_text(cell, hc.text, bold=True, center=True)
            c += hc.colspan
        _repeat_as_header(out.rows[r])
    first = len(table.header)
    # Row by row: Table.cell() walks the whole grid on every call, which made a 100-host
    # inventory's tables quadratic.
    for out_row, row in zip(list(out.rows)[first:], table.rows, strict=False):
        for cell, value in zip(out_row.cells, row, strict=False):
            if value.tick is not None:
                _cell_text(cell, BOX_ON if value.tick else BOX_OFF, center=True, font=BOX_FONT,
                           color=INK if value.tick else None)
            else:
                _cell_text(cell, value.text, color=INK if value.source else None,
                           italic=value.source == "declared")
    if not table.rows:
        cell = out.cell(first, 0).merge(out.cell(first, columns - 1))
        _cell_text(cell, table.empty, italic=True, center=True, color=MUTED)
    _para(doc, after=2)
    return out


def _question(doc: DocumentType, q: Question, texts: Texts) -> None:
    if q.label or q.number:
        p = _para(doc, before=3, keep_next=True)
        if q.number:
            _run(p, q.number + " ", bold=True)
        _run(p, q.label)
    if q.ticks:
        _ticks(doc, q.ticks)
    if q.prompt:
        _run(_para(doc, indent_mm=8, after=1), q.prompt, italic=True)
    for line in q.lines:
        _line(doc, line, texts)
    if not q.lines and not q.table:
        for _ in range(q.dotted):
            _run(_para(doc, indent_mm=8), DOTS, color=MUTED)
    if q.table:
        _table(doc, q.table)


def _section(doc: DocumentType, section: Section, texts: Texts) -> None:
    p = _para(doc, before=10, after=4, keep_next=True)
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    _run(p, f"{section.number}. {section.title}", bold=True)
    if section.table:
        _table(doc, section.table)
    for block in section.blocks:
        if block.kind == "heading":
            h = _para(doc, before=6, after=2, keep_next=True)
            _run(h, f"{block.number} {block.label}".strip(), bold=True)
        else:
            _question(doc, block, texts)
    if section.note:
        _run(_para(doc), section.note, italic=True)


def _signatures(doc: DocumentType, form: FilledForm) -> None:
    out = doc.add_table(rows=1, cols=2)
    for i, sig in enumerate(form.signatures):
        cell = out.cell(0, i)
        cell.width = Mm(TEXT_WIDTH_MM / 2)
        first = cell.paragraphs[0]
        first.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(first, form.place_date if i == 1 else "", italic=True)
        title = cell.add_paragraph()
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(title, sig.title, bold=True)
        for _ in range(4):  # room for the signature and the stamp
            cell.add_paragraph()
        name = cell.add_paragraph()
        name.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(name, sig.name or "", bold=True)


def _page_number_footer(doc: DocumentType) -> None:
    p = doc.sections[0].footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._r.append(el)


def _setup(doc: DocumentType, form: FilledForm) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(25), Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, SIZE
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(2)
    doc.core_properties.title = _x(f"{form.title[0]} — {form.organization}")[:250]
    doc.core_properties.author = "readyscan"
    doc.core_properties.language = form.lang
    _page_number_footer(doc)


def build_docx(form: FilledForm) -> DocumentType:
    texts = Texts.for_lang(form.lang)
    doc = Document()
    _setup(doc, form)
    if form.incomplete:
        p = _para(doc, after=6)
        _run(p, texts.t("incomplete.title") + "\n", bold=True, color=RGBColor(0xA4, 0x16, 0x1A))
        _run(p, form.incomplete, color=RGBColor(0xA4, 0x16, 0x1A))
    for i, line in enumerate(form.title):
        _run(_para(doc, align=WD_ALIGN_PARAGRAPH.CENTER, after=0), line, bold=True, size=Pt(15) if i == 0 else SIZE)
    unit = _para(doc, align=WD_ALIGN_PARAGRAPH.CENTER, before=6, after=6)
    _run(unit, f"{texts.t('form.unit')}: ", italic=True)
    _run(unit, form.organization, italic=True, color=INK)
    intro = _para(doc, align=WD_ALIGN_PARAGRAPH.JUSTIFY, after=4)
    intro.paragraph_format.first_line_indent = Mm(8)
    _run(intro, form.intro)
    note = _para(doc, after=8)
    _run(note, form.provenance + " ", size=Pt(9.5), color=MUTED)
    _run(note, texts.t("form.legend_title") + ": ", size=Pt(9.5), bold=True, color=MUTED)
    for source, meaning in form.legend:
        _run(note, f"[{texts.t('form.tag.' + source)}] ", size=Pt(9.5), bold=True, color=MARK_COLOR[source])
        _run(note, meaning + "; ", size=Pt(9.5), color=MUTED)
    _run(note, texts.t("form.ticks_note"), size=Pt(9.5), color=MUTED)
    for section in form.sections:
        if section.number == "VIII":
            _run(_para(doc, align=WD_ALIGN_PARAGRAPH.CENTER, before=6), form.elided, italic=True, color=MUTED)
        _section(doc, section, texts)
    _para(doc, after=6)
    _signatures(doc, form)
    return doc


def render_docx(scan: ScanFile, *, lang: str = "vi") -> bytes:
    """The filled survey form as the bytes of a .docx file."""
    out = io.BytesIO()
    build_docx(build_form(scan, lang=lang)).save(out)
    return out.getvalue()
