"""Submission templates (报送模板): one per catalog item, XLSX and CSV.

Each has the Chinese headers the parser reads, one example row that the pipeline accepts
as it is, and (XLSX) a 填写说明 sheet naming every column: required or not, type, the
values allowed and what it means. The two 双公示 items use the current national headers
(DOMAIN §16); every other item the generic format plus its own fields.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import xlsxwriter

from xinyong.catalog.schemas import FieldSpec, InformationItem, Nature
from xinyong.identity.numbers import resident_id_check_char

# DOMAIN §16, in this order.
SGS_PENALTY_HEADERS: tuple[str, ...] = (
    "行政相对人名称", "行政相对人类别", "行政相对人代码_1(统一社会信用代码)",
    "行政相对人代码_2(工商注册号)", "行政相对人代码_3(组织机构代码)", "行政相对人代码_4(税务登记号)",
    "行政相对人代码_5(事业单位证书号)", "行政相对人代码_6(社会组织登记证号)", "法定代表人",
    "法定代表人证件类型", "法定代表人证件号码", "证件类型", "证件号码", "行政处罚决定书文号",
    "违法行为类型", "违法事实", "处罚依据", "处罚类别", "处罚内容", "罚款金额（万元）",
    "没收违法所得、没收非法财物的金额（万元）", "暂扣或吊销证照名称及编号", "处罚决定日期",
    "处罚有效期", "公示截止期", "处罚机关", "处罚机关统一社会信用代码", "数据来源单位",
    "数据来源单位统一社会信用代码", "备注",
)  # fmt: skip
SGS_LICENSE_HEADERS: tuple[str, ...] = (
    "行政相对人名称", "行政相对人类别", "行政相对人代码_1(统一社会信用代码)",
    "行政相对人代码_2(工商注册号)", "行政相对人代码_3(组织机构代码)", "行政相对人代码_4(税务登记号)",
    "行政相对人代码_5(事业单位证书号)", "行政相对人代码_6(社会组织登记证号)", "法定代表人",
    "法定代表人证件类型", "法定代表人证件号码", "证件类型", "证件号码", "行政许可决定文书名称",
    "行政许可决定文书号", "许可类别", "许可证书名称", "许可编号", "许可内容", "许可决定日期",
    "有效期自", "有效期至", "许可机关", "许可机关统一社会信用代码", "当前状态", "数据来源单位",
    "数据来源单位统一社会信用代码", "备注",
)  # fmt: skip

_EXAMPLE_FIRST17 = "43010219900517123"
EXAMPLE_ID_NUMBER = _EXAMPLE_FIRST17 + resident_id_check_char(_EXAMPLE_FIRST17)

TYPE_NAMES = {
    "text": "文本",
    "date": "日期（YYYY-MM-DD）",
    "decimal": "数字",
    "integer": "整数",
    "enum": "单选",
    "enum_multi": "多选（以“；”分隔）",
}

# Columns every format shares: header, required, type, meaning.
_COMMON_GUIDE: dict[str, tuple[bool, str, str]] = {
    "行政相对人名称": (True, "文本", "自然人姓名或法人及非法人组织名称"),
    "行政相对人类别": (True, "单选：法人及非法人组织、自然人、个体工商户", "主体类别"),
    "行政相对人代码_1(统一社会信用代码)": (False, "18 位代码", "组织必填"),
    "法定代表人": (False, "文本", "组织的法定代表人"),
    "法定代表人证件类型": (False, "单选：身份证等", "组织必填"),
    "法定代表人证件号码": (False, "文本", "组织必填；平台加密保存"),
    "证件类型": (False, "单选：身份证、护照等", "自然人必填"),
    "证件号码": (False, "文本", "自然人必填；平台加密保存，不在任何页面明文显示"),
    "行政处罚决定书文号": (True, "文本", "同一部门、同一文号、同一主体重复报送为更新，不会重复"),
    "行政许可决定文书号": (True, "文本", "同一部门、同一文号、同一主体重复报送为更新，不会重复"),
    "处罚决定日期": (True, "日期（YYYY-MM-DD）", "公示期限自该日起算"),
    "许可决定日期": (True, "日期（YYYY-MM-DD）", "有效期自该日起算"),
    "目录项": (True, "目录项代码", "公共信用信息目录中的代码"),
    "姓名": (True, "文本", "信息主体姓名"),
    "文书号": (True, "文本", "认定文书号；重复报送为更新"),
    "决定日期": (True, "日期（YYYY-MM-DD）", "认定日期，公示期限自该日起算"),
    "行为": (False, "文本", "失信或守信行为"),
    "失信等级": (False, "单选：轻微、一般、严重", "不填时按目录项默认等级"),
    "部门代码": (False, "文本", "报送部门代码；以部门账号报送时可不填"),
    "数据来源单位统一社会信用代码": (False, "18 位代码", "报送部门的统一社会信用代码"),
}


@dataclass(frozen=True)
class Template:
    item_code: str
    item_name: str
    headers: list[str]
    example: dict[str, str]
    guide: list[tuple[str, str, str, str]]  # header, 必填, 类型/可选值, 说明

    @property
    def filename(self) -> str:
        return f"{self.item_code}_{self.item_name}_报送模板"


def _example_value(spec: FieldSpec, decided: dt.date) -> str:
    if spec.type == "date":
        return (decided + dt.timedelta(days=365)).isoformat()
    if spec.type == "decimal":
        return "1.5"
    if spec.type == "integer":
        return "1"
    if spec.type in ("enum", "enum_multi"):
        return spec.choices[0]
    return f"{spec.label}（示例）"


def _spec_guide(spec: FieldSpec) -> tuple[str, str, str, str]:
    kind = TYPE_NAMES.get(spec.type, spec.type)
    if spec.choices:
        kind += "：" + "、".join(spec.choices)
    if spec.max_length:
        kind += f"；不超过 {spec.max_length} 字"
    return (spec.label, "是" if spec.required else "否", kind, "")


def build_template(item: InformationItem, department_code: str | None, today: dt.date) -> Template:
    decided = today - dt.timedelta(days=1)
    specs = {spec.label: spec for spec in item.fields}
    if item.record_format in ("sgs_penalty", "sgs_license"):
        penalty = item.record_format == "sgs_penalty"
        headers = list(SGS_PENALTY_HEADERS if penalty else SGS_LICENSE_HEADERS)
        example = dict.fromkeys(headers, "")
        example.update(
            {
                "行政相对人名称": "张示例",
                "行政相对人类别": "自然人",
                "证件类型": "身份证",
                "证件号码": EXAMPLE_ID_NUMBER,
            }
        )
        if penalty:
            example.update(
                {
                    "行政处罚决定书文号": f"示例罚〔{decided.year}〕1号",
                    "处罚决定日期": decided.isoformat(),
                    "违法行为类型": "无证经营",
                    "违法事实": "经查，当事人未取得许可从事经营活动",
                    "处罚依据": "《无证无照经营查处办法》第十三条",
                    "处罚类别": "罚款",
                    "处罚内容": "罚款 1.5 万元",
                    "罚款金额（万元）": "1.5",
                }
            )
        else:
            example.update(
                {
                    "行政许可决定文书名称": "准予行政许可决定书",
                    "行政许可决定文书号": f"示例许〔{decided.year}〕1号",
                    "许可类别": "普通",
                    "许可证书名称": "食品经营许可证",
                    "许可编号": "JY14301000000001",
                    "许可内容": "预包装食品销售",
                    "许可决定日期": decided.isoformat(),
                    "有效期自": decided.isoformat(),
                    "有效期至": (decided + dt.timedelta(days=5 * 365)).isoformat(),
                }
            )
        example[("处罚机关" if penalty else "许可机关")] = "示范市市场监督管理局"
        example["数据来源单位"] = "示范市市场监督管理局"
        guide = []
        for header in headers:
            if header in specs:
                guide.append(_spec_guide(specs[header]))
            elif header in _COMMON_GUIDE:
                required, kind, meaning = _COMMON_GUIDE[header]
                guide.append((header, "是" if required else "否", kind, meaning))
            else:
                guide.append((header, "否", "文本", ""))
        return Template(item.code, item.name, headers, example, guide)
    headers = ["目录项", "部门代码", "姓名", "证件类型", "证件号码", "文书号", "决定日期", "行为"]
    if item.nature is Nature.NEGATIVE:
        headers.append("失信等级")
    headers += [spec.label for spec in item.fields]
    example = {
        "目录项": item.code,
        "部门代码": department_code or "",
        "姓名": "张示例",
        "证件类型": "身份证",
        "证件号码": EXAMPLE_ID_NUMBER,
        "文书号": f"示例〔{decided.year}〕1号",
        "决定日期": decided.isoformat(),
        "行为": item.name,
    }
    for spec in item.fields:
        example[spec.label] = _example_value(spec, decided)
    guide = []
    for header in headers:
        if header in specs:
            guide.append(_spec_guide(specs[header]))
        else:
            required, kind, meaning = _COMMON_GUIDE.get(header, (False, "文本", ""))
            guide.append((header, "是" if required else "否", kind, meaning))
    return Template(item.code, item.name, headers, example, guide)


def template_csv(template: Template) -> bytes:
    """UTF-8 with BOM (Excel opens it in Chinese), headers and the example row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(template.headers)
    writer.writerow([template.example.get(h, "") for h in template.headers])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(template: Template) -> bytes:
    """Sheet 报送数据 (headers, the example row) and sheet 填写说明 (the field guide)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    text = workbook.add_format({"num_format": "@"})
    head = workbook.add_format({"bold": True, "bg_color": "#F2DEDE", "num_format": "@"})
    required = workbook.add_format(
        {"bold": True, "bg_color": "#F2DEDE", "font_color": "#9C0006", "num_format": "@"}
    )
    needed = {row[0] for row in template.guide if row[1] == "是"}
    sheet = workbook.add_worksheet("报送数据")
    for col, header in enumerate(template.headers):
        sheet.write_string(0, col, header, required if header in needed else head)
        # Text cells: identity numbers and codes must not turn into numbers.
        sheet.set_column(col, col, max(12, min(40, len(header) * 2)), text)
        sheet.write_string(1, col, template.example.get(header, ""), text)
    sheet.freeze_panes(1, 0)
    guide = workbook.add_worksheet("填写说明")
    for col, name in enumerate(("列名", "是否必填", "类型与可选值", "说明")):
        guide.write_string(0, col, name, head)
    for line, row in enumerate(template.guide, start=1):
        for col, value in enumerate(row):
            guide.write_string(line, col, value)
    guide.set_column(0, 0, 34)
    guide.set_column(2, 3, 50)
    note = len(template.guide) + 2
    guide.write_string(note, 0, f"目录项：{template.item_code} {template.item_name}")
    guide.write_string(
        note + 1,
        0,
        "第 2 行为示例，报送前请删除或替换；必填列以红字标出。文件可为 UTF-8 或 GBK 编码的 CSV，或 XLSX。",
    )
    workbook.close()
    return buffer.getvalue()
