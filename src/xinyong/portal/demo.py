"""Articles for the demo city's portal. Synthetic cases: no real person or company."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.portal.models import Article, ArticleKind
from xinyong.portal.services import save_article

DEMO_ARTICLES: tuple[tuple[ArticleKind, str, str, str, str], ...] = (
    (
        ArticleKind.HONOUR_CASE,
        "诚信道德模范：十年如一日替亡兄还债",
        "市民王某在兄长病逝后主动承担其生前债务，十年间分期还清全部欠款。",
        "市文明办",
        "市民王某（示范案例）的兄长经营小店期间向多位供货商赊欠货款共计二十余万元。兄长病逝后，"
        "王某并无法定义务，却逐一登门核对账目，约定分期偿还。\n\n"
        "十年间，王某靠经营早餐店的收入按月还款，从未拖欠，最终还清全部欠款。2025年，王某被评为"
        "市诚信道德模范，依法列入守信红名单，在办理政务服务时享受“绿色通道”“容缺受理”等激励措施。",
    ),
    (
        ArticleKind.HONOUR_CASE,
        "优秀青年志愿者：累计志愿服务超过两千小时",
        "青年志愿者李某长期参与社区应急与助老服务，获评优秀青年志愿者。",
        "团市委",
        "李某（示范案例）自大学起参加社区志愿服务，累计服务时长超过两千小时，组织志愿者队伍参与"
        "防汛抢险和独居老人探访。\n\n"
        "根据守信联合激励措施清单，优秀青年志愿者在就业、创业、公共交通等方面可享受优先和优惠。",
    ),
    (
        ArticleKind.WARNING_CASE,
        "失信案例警示：伪造就业材料骗取创业补贴",
        "某人伪造劳动合同和社保缴费记录骗取创业补贴，被追回资金并列入重点关注名单。",
        "市人力资源和社会保障局",
        "2025年，市人社局在核查创业补贴时发现，申请人赵某（示范案例）提交的劳动合同和社保缴费"
        "记录系伪造。经调查，赵某以虚构员工的方式骗取创业补贴三万元。\n\n"
        "市人社局依法追回补贴资金，作出行政处罚，并将该失信行为记入赵某个人信用档案，列入重点关注名单。"
        "在公示期内，赵某申请各类财政补贴和政策扶持将受到限制。\n\n"
        "提醒：骗取就业创业优惠政策和社会保险基金属于严重失信行为，须承担相应法律责任。",
    ),
    (
        ArticleKind.WARNING_CASE,
        "失信案例警示：拒不履行生效判决被限制高消费",
        "被执行人钱某有能力履行而拒不履行生效判决，被列入失信被执行人名单。",
        "市中级人民法院",
        "被执行人钱某（示范案例）在判决生效后转移财产、拒不履行还款义务。法院依法将其纳入失信被执行人"
        "名单，并采取限制高消费措施：不得乘坐飞机、列车软卧，不得在星级以上宾馆消费。\n\n"
        "钱某履行全部义务后，可依法申请屏蔽失信信息并进行信用修复。",
    ),
    (
        ArticleKind.KNOWLEDGE,
        "什么是个人公共信用信息？",
        "个人公共信用信息是行政机关和公共服务机构在履职过程中产生的、反映个人信用状况的信息。",
        "市信用办",
        "个人公共信用信息包括基本信息、行政许可和行政处罚信息、表彰奖励信息、司法裁判及执行信息等，"
        "按《公共信用信息目录》归集，目录以外的信息不得归集。\n\n"
        "您可以登录本平台查看本人的信用档案、诚信积分和查询记录；对信息有异议的，可以提出异议申请；"
        "符合条件的失信信息，可以申请信用修复。",
    ),
    (
        ArticleKind.KNOWLEDGE,
        "失信信息会公示多久？",
        "失信信息按轻微、一般、严重分级，公示期限分别不同，期满自动停止公示。",
        "市信用办",
        "根据《信用修复管理办法》，轻微失信信息原则上不予公示，最长不超过3个月；一般失信信息公示期"
        "最短3个月、最长1年；严重失信信息公示期最短1年、最长3年。\n\n"
        "公示期满的信息自动停止公示和使用。最短公示期届满后，已履行法定义务、纠正失信行为的，可以申请"
        "信用修复，提前停止公示。",
    ),
    (
        ArticleKind.POLICY,
        "国务院办公厅关于加强个人诚信体系建设的指导意见（国办发〔2016〕98号）",
        "加快推进个人诚信记录建设，完善个人信息安全、隐私保护与信用修复机制。",
        "国务院办公厅",
        "指导意见要求加强个人诚信教育，加快推进个人诚信记录建设，完善个人信息安全、隐私保护与信用修复"
        "机制，健全以奖惩制度为核心的守信激励与失信惩戒机制。\n\n"
        "本平台依据该意见及本市实施方案建设，向社会公开依法可以公开的个人严重失信信息，并提供授权查询服务。",
    ),
)


def seed_demo_articles(session: Session, actor: Actor) -> int:
    """Publish the demo articles once; returns how many were added."""
    if session.scalar(select(Article.id).limit(1)) is not None:
        return 0
    for kind, title, summary, source, body in DEMO_ARTICLES:
        save_article(
            session,
            actor,
            kind=kind.value,
            title=title,
            summary=summary,
            source=source,
            body=body,
            publish=True,
        )
    return len(DEMO_ARTICLES)
