"""What each kind of import holds: its fields, the header names that propose a column for each (English and
Chinese), the words that name each code of a coded field, and the mapping a user confirms and may save."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache

from core import models as m
from core.i18n import catalog
from core.ingest.files import normalise_header

KINDS = ("customers", "orders", "nps", "interactions", "leads", "tickets", "csat")


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # text, prose (free text), code, date, moment (date and time), amount, phone, email, owner, agent, key
    required: bool = False
    codes: tuple[str, ...] = ()  # a coded field's values
    labels: str | None = None  # the catalog group that names its codes in both languages
    synonyms: tuple[str, ...] = ()
    longest: int = 200


CUSTOMER_FIELDS = (
    Field(
        "external_id",
        "key",
        synonyms=(
            "客户编号",
            "客户id",
            "客户号",
            "customer id",
            "customer no",
            "customer number",
            "id",
            "编号",
            "external id",
        ),
    ),
    Field("code", "key", synonyms=("code", "customer code", "系统编号", "驾驶舱编号")),
    Field(
        "name",
        "text",
        required=True,
        synonyms=(
            "客户名称",
            "客户名",
            "公司名称",
            "企业名称",
            "单位名称",
            "名称",
            "姓名",
            "name",
            "customer name",
            "company",
            "company name",
        ),
    ),
    Field(
        "kind",
        "code",
        required=True,
        codes=m.CUSTOMER_KINDS,
        labels="kind",
        synonyms=("客户类型", "类型", "kind", "type", "customer type"),
    ),
    Field(
        "industry",
        "code",
        required=True,
        codes=m.INDUSTRIES,
        labels="industry",
        synonyms=("行业", "所属行业", "industry", "sector"),
    ),
    Field(
        "region",
        "code",
        required=True,
        codes=m.REGIONS,
        labels="region",
        synonyms=("区域", "大区", "地区", "所属区域", "省份", "省", "region", "area", "province"),
    ),
    Field("city", "text", synonyms=("城市", "所在城市", "city"), longest=64),
    Field(
        "company_size",
        "code",
        codes=m.COMPANY_SIZES,
        labels="size",
        synonyms=("规模", "企业规模", "公司规模", "company size", "size"),
    ),
    Field(
        "owner",
        "owner",
        synonyms=("负责人", "客户经理", "销售", "归属人", "所属销售", "owner", "account manager", "sales rep"),
    ),
    Field(
        "acquisition_channel",
        "code",
        required=True,
        codes=m.ACQUISITION_CHANNELS,
        labels="acquisition",
        synonyms=("获客渠道", "来源渠道", "来源", "渠道", "acquisition channel", "source", "channel"),
    ),
    Field(
        "first_contact_date",
        "date",
        synonyms=(
            "首次接触日期",
            "首次联系日期",
            "创建日期",
            "建档日期",
            "first contact",
            "first contact date",
            "created",
            "created at",
        ),
    ),
    Field(
        "became_customer_date",
        "date",
        synonyms=("成为客户日期", "签约日期", "成交日期", "开户日期", "customer since", "became customer", "since"),
    ),
    Field("churned_date", "date", synonyms=("流失日期", "churned", "churn date", "churned date")),
    Field("status", "code", codes=m.CUSTOMER_STATUSES, labels="status", synonyms=("状态", "客户状态", "status")),
    Field(
        "phone",
        "phone",
        synonyms=("手机", "手机号", "手机号码", "电话", "联系电话", "联系方式", "phone", "mobile", "tel", "telephone"),
    ),
    Field("email", "email", synonyms=("邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail")),
    Field("tags", "text", synonyms=("标签", "tags")),
)

ORDER_FIELDS = (
    Field("external_id", "key", synonyms=("订单号", "订单编号", "单号", "order id", "order no", "order number")),
    Field(
        "customer_external_id",
        "key",
        synonyms=("客户编号", "客户id", "客户号", "customer id", "customer no", "customer number"),
    ),
    Field("customer_code", "key", synonyms=("客户代码", "customer code", "code")),
    Field("customer_phone", "phone", synonyms=("手机", "手机号", "电话", "联系电话", "phone", "mobile")),
    Field("customer_email", "email", synonyms=("邮箱", "电子邮箱", "email", "e-mail")),
    Field(
        "order_date", "date", required=True, synonyms=("下单日期", "订单日期", "日期", "下单时间", "order date", "date")
    ),
    Field(
        "amount",
        "amount",
        required=True,
        synonyms=("金额", "订单金额", "实付金额", "成交金额", "amount", "total", "order amount"),
    ),
    Field(
        "product_category",
        "code",
        required=True,
        codes=m.PRODUCT_CATEGORIES,
        labels="product",
        synonyms=("产品类别", "产品", "品类", "产品分类", "product", "category", "product category"),
    ),
    Field(
        "sales_channel",
        "code",
        required=True,
        codes=m.SALES_CHANNELS,
        labels="sales_channel",
        synonyms=("销售渠道", "渠道", "sales channel", "channel"),
    ),
)

NPS_FIELDS = (
    Field("external_id", "key", synonyms=("回复编号", "答卷编号", "问卷编号", "response id", "answer id", "survey id")),
    *ORDER_FIELDS[1:5],  # the customer: the source's customer id, our code, phone or email
    Field(
        "responded_at",
        "date",
        required=True,
        synonyms=("回复日期", "答卷日期", "提交时间", "日期", "responded at", "response date", "date"),
    ),
    Field("score", "amount", required=True, synonyms=("评分", "得分", "推荐评分", "nps", "nps评分", "score", "rating")),
    Field(
        "touchpoint",
        "code",
        required=True,
        codes=m.NPS_TOUCHPOINTS,
        labels="touchpoint",
        synonyms=("触点", "调查场景", "场景", "touchpoint", "survey"),
    ),
    Field(
        "comment", "prose", synonyms=("评论", "意见", "反馈", "留言", "comment", "feedback", "verbatim"), longest=2000
    ),
)

INTERACTION_FIELDS = (
    Field(
        "external_id",
        "key",
        synonyms=("记录编号", "活动编号", "跟进编号", "activity id", "interaction id", "record id"),
    ),
    *ORDER_FIELDS[1:5],  # the customer: the source's customer id, our code, phone or email
    Field(
        "occurred_at",
        "date",
        required=True,
        synonyms=("日期", "跟进日期", "联系日期", "活动日期", "date", "occurred at", "activity date"),
    ),
    Field(
        "channel",
        "code",
        required=True,
        codes=m.INTERACTION_CHANNELS,
        labels="channel",
        synonyms=("方式", "联系方式", "渠道", "channel", "type"),
    ),
    Field(
        "direction",
        "code",
        required=True,
        codes=m.INTERACTION_DIRECTIONS,
        labels="direction",
        synonyms=("方向", "呼入呼出", "direction"),
    ),
    Field("subject", "text", required=True, synonyms=("主题", "标题", "事由", "subject", "title")),
    Field("notes", "prose", synonyms=("内容", "备注", "记录", "notes", "details"), longest=4000),
    Field("outcome", "code", codes=m.INTERACTION_OUTCOMES, labels="outcome", synonyms=("结果", "outcome", "result")),
    Field("duration_minutes", "amount", synonyms=("时长", "时长分钟", "通话时长", "duration", "minutes")),
)

LEAD_FIELDS = (
    Field("external_id", "key", synonyms=("线索编号", "线索id", "lead id", "lead no", "lead number")),
    Field(
        "company_name",
        "text",
        required=True,
        synonyms=("公司名称", "企业名称", "线索名称", "名称", "company", "company name", "name"),
    ),
    Field("contact_name", "text", synonyms=("联系人", "联系人姓名", "contact", "contact name", "contact person")),
    # the lead's own contact details (the screening rules read them); the customer it became is found by id or code
    Field("phone", "phone", synonyms=("手机", "手机号", "电话", "联系电话", "phone", "mobile", "tel")),
    Field("email", "email", synonyms=("邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail")),
    Field(
        "source_channel",
        "code",
        required=True,
        codes=m.ACQUISITION_CHANNELS,
        labels="acquisition",
        synonyms=("来源", "线索来源", "来源渠道", "渠道", "source", "channel", "source channel"),
    ),
    Field("campaign", "text", synonyms=("活动", "营销活动", "活动名称", "campaign", "campaign name")),
    Field(
        "created_at", "date", required=True, synonyms=("创建日期", "创建时间", "日期", "created", "created at", "date")
    ),
    Field(
        "status",
        "code",
        required=True,
        codes=m.LEAD_STATUSES,
        labels="lead_status",
        synonyms=("状态", "线索状态", "status"),
    ),
    # a lead's type, industry and region read like a customer's
    *(spec for spec in CUSTOMER_FIELDS if spec.name in ("kind", "industry", "region")),
    Field("owner", "owner", synonyms=("负责人", "销售", "客户经理", "owner", "sales rep")),
    Field("contacted_at", "date", synonyms=("首次联系日期", "联系日期", "contacted", "contacted at")),
    Field("qualified_at", "date", synonyms=("确认日期", "合格日期", "qualified", "qualified at")),
    Field("converted_at", "date", synonyms=("转化日期", "成交日期", "converted", "converted at")),
    Field("disqualified_at", "date", synonyms=("无效日期", "关闭日期", "disqualified", "disqualified at")),
    Field(
        "invalid_reason",
        "code",
        codes=m.LEAD_INVALID_REASONS,
        labels="invalid_reason",
        synonyms=("无效原因", "原因", "invalid reason", "reason"),
    ),
    *ORDER_FIELDS[1:3],  # the customer it became, when known: the source's customer id or our code
)

TICKET_ID_SYNONYMS = (
    "工单号",
    "工单编号",
    "投诉编号",
    "服务单号",
    "ticket id",
    "ticket no",
    "ticket number",
    "case id",
)
TICKET_FIELDS = (
    Field("external_id", "key", required=True, synonyms=TICKET_ID_SYNONYMS),
    *ORDER_FIELDS[1:5],  # the customer: the source's customer id, our code, phone or email
    Field(
        "ticket_kind",
        "code",
        required=True,
        codes=m.TICKET_KINDS,
        labels="ticket_kind",
        synonyms=("工单类型", "类型", "type", "ticket type", "kind"),
    ),
    Field(
        "category",
        "code",
        required=True,
        codes=m.TICKET_CATEGORIES,
        labels="category",
        synonyms=("问题分类", "分类", "类别", "问题类型", "category"),
    ),
    Field(
        "priority",
        "code",
        required=True,
        codes=m.TICKET_PRIORITIES,
        labels="priority",
        synonyms=("优先级", "紧急程度", "priority"),
    ),
    Field(
        "ticket_channel",
        "code",
        required=True,
        codes=m.TICKET_CHANNELS,
        labels="channel",
        synonyms=("渠道", "受理渠道", "来源渠道", "channel", "source"),
    ),
    Field(
        "status",
        "code",
        codes=m.TICKET_STATUSES,
        labels="ticket_status",
        synonyms=("状态", "工单状态", "处理状态", "status"),
    ),
    Field(
        "created_at",
        "moment",
        required=True,
        synonyms=("创建时间", "提交时间", "登记时间", "创建日期", "created", "created at", "opened at"),
    ),
    Field(
        "first_response_at",
        "moment",
        synonyms=("首次响应时间", "响应时间", "受理时间", "first response", "first response at", "accepted at"),
    ),
    Field("resolved_at", "moment", synonyms=("解决时间", "处理完成时间", "resolved", "resolved at")),
    Field("closed_at", "moment", synonyms=("关闭时间", "结案时间", "closed", "closed at")),
    Field("assignee", "agent", synonyms=("处理人", "受理人", "客服", "assignee", "agent", "handled by")),
    Field(
        "description",
        "prose",
        synonyms=("问题描述", "投诉内容", "描述", "内容", "description", "details"),
        longest=4000,
    ),
    Field("resolution", "prose", synonyms=("处理结果", "解决方案", "处理意见", "resolution"), longest=4000),
    Field("csat", "amount", synonyms=("满意度", "满意度评分", "csat", "satisfaction")),
    Field("feedback_comment", "prose", synonyms=("客户评价", "回访意见", "评价", "feedback"), longest=2000),
)

CSAT_FIELDS = (
    Field("ticket_external_id", "key", required=True, synonyms=TICKET_ID_SYNONYMS),
    Field(
        "csat", "amount", required=True, synonyms=("满意度", "满意度评分", "评分", "得分", "csat", "score", "rating")
    ),
    Field("answered_at", "moment", synonyms=("评价时间", "回访时间", "日期", "answered at", "date")),
    Field("comment", "prose", synonyms=("评价", "意见", "留言", "comment", "feedback"), longest=2000),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    "customers": CUSTOMER_FIELDS,
    "orders": ORDER_FIELDS,
    "nps": NPS_FIELDS,
    "interactions": INTERACTION_FIELDS,
    "leads": LEAD_FIELDS,
    "tickets": TICKET_FIELDS,
    "csat": CSAT_FIELDS,
}
CUSTOMER_KEYS = ("customer_external_id", "customer_code", "customer_phone", "customer_email")  # an order needs one

# words people use for codes beyond the code and its two catalog labels
VALUE_SYNONYMS: dict[str, dict[str, str]] = {
    "kind": {
        "企业": "B2B",
        "公司": "B2B",
        "对公": "B2B",
        "business": "B2B",
        "company": "B2B",
        "个人": "B2C",
        "个体": "B2C",
        "consumer": "B2C",
        "person": "B2C",
        "individual": "B2C",
    },
    "ticket_kind": {
        "投诉": "complaint",
        "客诉": "complaint",
        "服务": "service_request",
        "服务请求": "service_request",
        "报修": "service_request",
        "咨询": "inquiry",
        "问询": "inquiry",
    },
    "industry": {
        "制造": "manufacturing",
        "零售业": "retail",
        "金融服务": "finance",
        "银行": "finance",
        "保险": "finance",
        "医疗": "healthcare",
        "医药": "healthcare",
        "教育培训": "education",
        "it": "it_services",
        "互联网": "it_services",
        "软件": "it_services",
        "物流运输": "logistics",
        "运输": "logistics",
        "地产": "real_estate",
        "酒店": "hospitality",
        "餐饮": "hospitality",
    },
    "company_size": {
        "小": "small",
        "小型": "small",
        "中": "medium",
        "大": "large",
        "超大": "enterprise",
        "集团公司": "enterprise",
    },
    "acquisition_channel": {
        "网站": "website",
        "官方网站": "website",
        "web": "website",
        "展会": "trade_show",
        "推荐": "referral",
        "介绍": "referral",
        "电销": "outbound",
        "外呼": "outbound",
        "渠道商": "partner",
        "代理商": "partner",
        "微信": "social_media",
        "抖音": "social_media",
        "社交": "social_media",
    },
    "status": {
        "正常": "active",
        "有效": "active",
        "客户": "active",
        "已流失": "churned",
        "停用": "churned",
        "流失客户": "churned",
        "意向": "prospect",
        "潜在": "prospect",
        "线索": "prospect",
        "新建": "new",
        "待受理": "new",
        "已受理": "accepted",
        "处理中": "analysing",
        "分析中": "analysing",
        "待客户反馈": "waiting",
        "等待客户": "waiting",
        "已解决": "resolved",
        "已关闭": "closed",
        "关闭": "closed",
        "已完成": "closed",
        "结案": "closed",
        # a lead's stages as sales teams write them
        "已确认": "qualified",
        "有效线索": "qualified",
        "跟进中": "contacted",
        "已成交": "converted",
        "成交": "converted",
        "无效线索": "disqualified",
    },
    "product_category": {
        "软件产品": "software",
        "硬件产品": "hardware",
        "服务费": "services",
        "耗材类": "consumables",
        "课程": "training",
        "订阅服务": "subscription",
        "saas": "subscription",
    },
    "priority": {
        "紧急": "urgent",
        "特急": "urgent",
        "高": "high",
        "中": "normal",
        "普通": "normal",
        "一般": "normal",
        "低": "low",
    },
    "category": {
        "质量": "product_quality",
        "产品质量问题": "product_quality",
        "物流": "delivery",
        "配送": "delivery",
        "发货": "delivery",
        "账单": "billing",
        "发票": "billing",
        "收费": "billing",
        "态度": "service_attitude",
        "技术": "technical",
        "故障": "technical",
        "账号": "account",
        "账户": "account",
    },
    "ticket_channel": {
        "电话": "phone",
        "热线": "phone",
        "邮件": "email",
        "在线": "online_chat",
        "在线客服": "online_chat",
        "微信": "social_media",
        "微博": "social_media",
        "自助": "self_service",
        "app": "self_service",
    },
    "direction": {"呼入": "inbound", "来电": "inbound", "呼出": "outbound", "去电": "outbound", "拜访": "outbound"},
    "touchpoint": {
        "购买后": "post_purchase",
        "售后": "post_service",
        "服务后": "post_service",
        "季度调查": "quarterly_survey",
        "季度": "quarterly_survey",
        "新手": "onboarding",
        "开通": "onboarding",
    },
    "sales_channel": {
        "直营": "direct",
        "电商": "online",
        "网店": "online",
        "线上商城": "online",
        "分销": "distributor",
        "代理": "distributor",
        "渠道": "partner",
    },
}
# provinces and municipalities by sales region (the names without 省/市/自治区)
PROVINCES = {
    "east": "上海 江苏 浙江 安徽 福建 江西 山东 shanghai jiangsu zhejiang anhui fujian jiangxi shandong",
    "north": "北京 天津 河北 山西 内蒙古 beijing tianjin hebei shanxi innermongolia",
    "south": "广东 广西 海南 香港 澳门 guangdong guangxi hainan hongkong macau",
    "central": "河南 湖北 湖南 henan hubei hunan",
    "southwest": "重庆 四川 贵州 云南 西藏 chongqing sichuan guizhou yunnan tibet",
    "northwest": "陕西 甘肃 青海 宁夏 新疆 shaanxi gansu qinghai ningxia xinjiang",
    "northeast": "辽宁 吉林 黑龙江 liaoning jilin heilongjiang",
}
REGION_SUFFIXES = ("地区", "大区", "区域", "省", "市", "自治区", "region", "area", "china")


def field_of(kind: str, name: str) -> Field:
    return next(f for f in FIELDS[kind] if f.name == name)


def known_headers(kind: str) -> set[str]:
    """Every normalised header name that proposes a column, for finding the header row."""
    return {normalise_header(word) for spec in FIELDS[kind] for word in (spec.name, *spec.synonyms)}


@cache
def value_words(spec: Field) -> dict[str, str]:
    """Normalised word -> code for a coded field: the code, its English and Chinese labels, common synonyms."""
    words: dict[str, str] = {}
    for code in spec.codes:
        words[normalise_header(code)] = code
        for lang in ("en", "zh"):
            label = catalog(lang).get(f"{spec.labels}.{code}")
            if label:
                words[normalise_header(label)] = code
    for word, code in VALUE_SYNONYMS.get(spec.name, {}).items():
        if code in spec.codes:  # fields of one name in several kinds (status, channel, kind) share one list
            words[normalise_header(word)] = code
    if spec.name == "region":
        for code, names in PROVINCES.items():
            words.update({normalise_header(name): code for name in names.split()})
    return words


def code_for(spec: Field, raw: str, extra: dict[str, str] | None = None) -> str | None:
    """The code a value names (through the user's own value mapping first), or None when unknown."""
    if extra and raw in extra:
        return extra[raw] or None
    words = value_words(spec)
    key = normalise_header(raw)
    if key in words:
        return words[key]
    if spec.name == "region":
        for suffix in REGION_SUFFIXES:
            if key.endswith(normalise_header(suffix)) and key[: -len(normalise_header(suffix))] in words:
                return words[key[: -len(normalise_header(suffix))]]
    return None


@dataclass
class Mapping:
    """Which file column feeds each field, a fixed value for fields with no column, and the user's own
    value mapping for codes ("" rejects that value)."""

    kind: str
    columns: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Mapping:
        data = json.loads(text)
        return cls(
            kind=data["kind"],
            columns=dict(data.get("columns", {})),
            fixed=dict(data.get("fixed", {})),
            values={k: dict(v) for k, v in data.get("values", {}).items()},
        )


def propose(kind: str, header: list[str]) -> Mapping:
    """A column for each field whose name, synonym or label matches a header cell; each column used once."""
    normalised = [normalise_header(cell) for cell in header]
    taken: set[int] = set()
    columns: dict[str, str] = {}
    for spec in FIELDS[kind]:
        words = [normalise_header(w) for w in (spec.name, *spec.synonyms)]
        for lang in ("en", "zh"):
            label = catalog(lang).get(f"import.field.{spec.name}")
            if label:
                words.append(normalise_header(label))
        for word in words:
            index = next((i for i, cell in enumerate(normalised) if cell == word and i not in taken), None)
            if index is not None:
                columns[spec.name] = header[index]
                taken.add(index)
                break
    return Mapping(kind=kind, columns=columns)
