//! Generated names and case stories for the demo: plausible, deterministic for
//! a seed, and within the limits the API puts on a nomination's text.

use rand::seq::SliceRandom;
use rand::Rng;

/// The group's member companies: (code, name, share of the group's staff in %).
pub const MEMBER_COMPANIES: [(&str, &str, u32); 13] = [
    ("BANK", "华信银行", 30),
    ("LIFE", "华信人寿保险", 14),
    ("PROP", "华信财产保险", 12),
    ("SEC", "华信证券", 9),
    ("CONF", "华信消费金融", 6),
    ("FUND", "华信基金", 5),
    ("TRUST", "华信信托", 5),
    ("LEASE", "华信金融租赁", 4),
    ("FUT", "华信期货", 4),
    ("AMC", "华信资产管理", 3),
    ("WM", "华信理财", 3),
    ("PAY", "华信支付", 3),
    ("TECH", "华信金融科技", 2),
];

const CITIES: [&str; 64] = [
    "北京",
    "上海",
    "广州",
    "深圳",
    "天津",
    "重庆",
    "成都",
    "杭州",
    "南京",
    "武汉",
    "西安",
    "苏州",
    "郑州",
    "长沙",
    "青岛",
    "沈阳",
    "宁波",
    "济南",
    "合肥",
    "福州",
    "厦门",
    "昆明",
    "南昌",
    "哈尔滨",
    "长春",
    "大连",
    "石家庄",
    "太原",
    "南宁",
    "贵阳",
    "兰州",
    "海口",
    "乌鲁木齐",
    "呼和浩特",
    "银川",
    "西宁",
    "拉萨",
    "无锡",
    "佛山",
    "东莞",
    "温州",
    "泉州",
    "烟台",
    "徐州",
    "常州",
    "南通",
    "绍兴",
    "嘉兴",
    "金华",
    "台州",
    "珠海",
    "中山",
    "惠州",
    "潍坊",
    "临沂",
    "洛阳",
    "襄阳",
    "宜昌",
    "芜湖",
    "赣州",
    "桂林",
    "三亚",
    "唐山",
    "保定",
];

const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
const GIVEN: &str = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲兰凤洁梅琳云莲真雪荣香月媛瑞凡佳嘉琼勤珍莉叶璐琦晶妍茜秋珊锦青倩婷婉瑾颖露瑶怡雁蓓仪荷丹蓉君琴蕊薇菁梦岚婕馨韵园卿聪澜纯悦昭冰爽茗羽希宁欣育滢筠柔竹凝晓欢枫芸菲伊亚宜可舒影思博文辉鹏飞鑫宇浩然子轩俊峰建国志远海波";

/// What a nominee did, as the title's second half (short: titles are at most 60 characters).
const DEEDS: [&str; 16] = [
    "识破电信诈骗，守住老人的养老钱",
    "三小时柜面劝阻，拦下一笔转账",
    "耐心化解理赔纠纷，赢得客户信任",
    "坚持适当性管理，拒绝误导销售",
    "上门服务行动不便的客户",
    "把金融知识送进社区和校园",
    "推动投诉溯源整改，堵住流程漏洞",
    "守护新市民的金融权益",
    "为听障客户开通手语服务",
    "追回被冒领的保险金",
    "识别非法集资陷阱，提醒上百位客户",
    "优化合同条款，让费用一目了然",
    "在暴雨夜为受灾客户开辟理赔绿色通道",
    "帮助外籍客户跨越语言障碍",
    "拆穿“代理维权”骗局",
    "让适老化改造落到每一个网点",
];

const OPENINGS: [&str; 6] = [
    "那是一个普通的工作日上午，",
    "去年冬天的一个傍晚，",
    "在一次例行回访中，",
    "网点刚开门不久，",
    "一次社区宣传活动结束后，",
    "客户第三次来到柜台时，",
];

const ACTIONS: [&str; 8] = [
    "反复核实交易背景，发现对方正被冒充公检法的骗子操控",
    "没有急于办理业务，而是耐心倾听客户的真实需求",
    "主动联系家属和派出所民警，一起劝说客户停止转账",
    "逐条解释产品风险，帮助客户选择了与其风险承受能力相符的产品",
    "连夜整理材料，协调理赔、核保和法务多个部门",
    "把复杂的条款改写成一页纸的提示，发给辖区内所有老年客户",
    "发现同类投诉集中出现，推动总部修订了业务流程",
    "陪同客户前往公安机关报案，并全程跟进资金冻结",
];

const OUTCOMES: [&str; 6] = [
    "最终为客户挽回损失{n}万元。",
    "此后一年里，该网点同类投诉下降了{n}成。",
    "这套做法已在全辖{n}个网点推广。",
    "客户专程送来锦旗，说她是“最可信赖的人”。",
    "相关经验被写入集团消保培训教材，培训员工{n}百人次。",
    "截至目前，她已累计开展宣传活动{n}十余场。",
];

pub fn city(index: usize) -> &'static str {
    CITIES[index % CITIES.len()]
}

/// A branch's name: banks have 分行, the other companies 分公司; a city that
/// comes round again gets a number.
pub fn branch_name(company: &str, company_index: usize, branch_index: usize) -> String {
    let round = branch_index / CITIES.len();
    let city = city(branch_index + company_index * 7);
    let kind = if company_index == 0 { "分行" } else { "分公司" };
    match round {
        0 => format!("{company}{city}{kind}"),
        n => format!("{company}{city}第{}{kind}", n + 1),
    }
}

pub fn person_name(rng: &mut impl Rng) -> String {
    let pick = |rng: &mut dyn rand::RngCore, chars: &str| {
        let chars: Vec<char> = chars.chars().collect();
        *chars.choose(rng).expect("non-empty")
    };
    let mut name = String::new();
    name.push(pick(rng, SURNAMES));
    for _ in 0..rng.gen_range(1..=2) {
        name.push(pick(rng, GIVEN));
    }
    name
}

pub struct CaseText {
    pub title: String,
    pub summary: String,
    pub story: String,
}

/// A nomination's title, summary and story for a nominee at a branch.
pub fn case(rng: &mut impl Rng, nominee: &str, branch: &str) -> CaseText {
    let deed = DEEDS.choose(rng).expect("non-empty");
    let title = format!("{nominee}：{deed}");
    let summary = format!("{branch}员工{nominee}{deed}，用专业和耐心守护消费者的合法权益。");
    let mut story = String::new();
    for _ in 0..rng.gen_range(3..=5) {
        story.push_str(OPENINGS.choose(rng).expect("non-empty"));
        story.push_str(nominee);
        story.push_str(ACTIONS.choose(rng).expect("non-empty"));
        story.push('。');
        let outcome = OUTCOMES.choose(rng).expect("non-empty");
        story.push_str(&outcome.replace("{n}", &rng.gen_range(2..=60).to_string()));
        story.push('\n');
    }
    CaseText { title, summary, story: story.trim_end().to_owned() }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn cases_stay_within_the_apis_limits() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for i in 0..2_000 {
            let name = person_name(&mut rng);
            let branch = branch_name("华信金融租赁", 7, i % 40);
            let text = case(&mut rng, &name, &branch);
            assert!(text.title.chars().count() <= 60, "{}", text.title);
            assert!(text.summary.chars().count() <= 300, "{}", text.summary);
            assert!((1..=5_000).contains(&text.story.chars().count()));
            assert!(!text.title.chars().chain(text.summary.chars()).any(char::is_control));
        }
    }

    #[test]
    fn names_are_two_or_three_characters() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..500 {
            assert!((2..=3).contains(&person_name(&mut rng).chars().count()));
        }
    }

    #[test]
    fn branch_names_are_unique_within_a_company() {
        let names: std::collections::BTreeSet<String> =
            (0..200).map(|b| branch_name("华信银行", 0, b)).collect();
        assert_eq!(names.len(), 200);
    }
}
