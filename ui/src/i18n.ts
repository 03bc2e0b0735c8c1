// The wallet's two languages: English (the source text) and Simplified Chinese. The language is
// the one chosen in Settings, or else the system's (zh-* → 简体中文), kept in localStorage.
// A text without a translation shows in English: `i18n.test.ts` checks every text the screens
// use has one.

export type Lang = "en" | "zh-CN";

const KEY = "credence-language";

function systemLang(): Lang {
  const nav = typeof navigator === "undefined" ? "en" : navigator.language || "en";
  return nav.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

let current: Lang = (() => {
  try {
    const saved = typeof localStorage === "undefined" ? null : localStorage.getItem(KEY);
    if (saved === "en" || saved === "zh-CN") return saved;
  } catch {
    // No storage: the system's language.
  }
  return systemLang();
})();

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang) {
  current = l;
  try {
    localStorage.setItem(KEY, l);
  } catch {
    // Not kept: the choice lasts until the window closes.
  }
  if (typeof document !== "undefined") document.documentElement.lang = l;
}

/** The text `en` in the current language, `{name}` replaced by `vars.name`. */
export function t(en: string, vars: Record<string, string | number> = {}): string {
  const text = current === "zh-CN" ? (ZH[en] ?? en) : en;
  return text.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

/** Credential types the wallet knows by name. */
const TYPE_NAMES: Record<string, string> = {
  UniversityDiploma: "学位证书",
  AcademicTranscriptSummary: "成绩单摘要",
  KycAttestation: "KYC 认证",
  ProfessionalCertificate: "职业资格证书",
};

/** A credential type's name in the current language. */
export function typeLabel(type: string, english: string): string {
  return current === "zh-CN" ? (TYPE_NAMES[type] ?? english) : english;
}

/**
 * The built-in schemas' attributes as people name them, in English and Chinese, for
 * credentials issued under the schemas' earlier versions, which carry no titles (the newest
 * versions title every attribute in both languages). A schema's own title always wins.
 */
const ATTRIBUTE_NAMES: Record<string, [string, string]> = {
  name: ["Name", "姓名"],
  student_id: ["Student number", "学号"],
  degree: ["Degree", "学位"],
  major: ["Major", "专业"],
  gpa: ["GPA", "平均学分绩点"],
  graduation_date: ["Graduation date", "毕业日期"],
  program: ["Programme", "专业项目"],
  credits_earned: ["Credits earned", "已获学分"],
  period_end: ["Period ending", "截止日期"],
  certificate: ["Certificate", "证书"],
  certificate_number: ["Certificate number", "证书编号"],
  level: ["Level", "等级"],
  issued_on: ["Issued on", "颁发日期"],
  expires_on: ["Expires on", "有效期至"],
  birth_date: ["Date of birth", "出生日期"],
  residence_country: ["Country of residence", "居住国家"],
  kyc_level: ["KYC level", "KYC 等级"],
  verified_on: ["Verified on", "核验日期"],
  customer_handle: ["Customer handle", "客户标识"],
};

/** A built-in attribute's name in the current language (`undefined`: not one the wallet knows). */
export function attributeName(name: string): string | undefined {
  const known = Object.hasOwn(ATTRIBUTE_NAMES, name) ? ATTRIBUTE_NAMES[name] : undefined;
  return known ? known[current === "zh-CN" ? 1 : 0] : undefined;
}

export const ZH: Record<string, string> = {
  // navigation and headings
  Credentials: "凭证",
  Import: "导入",
  "Answer a request": "回应请求",
  History: "历史",
  Settings: "设置",
  Lock: "锁定",
  "Wallet sections": "钱包栏目",
  "Skip to content": "跳到正文",
  Welcome: "欢迎",
  "Your recovery phrase": "你的助记词",
  "Unlock your wallet": "解锁钱包",
  "Your credentials": "你的凭证",
  Credential: "凭证",
  "Import a credential": "导入凭证",
  "Review the request": "审阅请求",
  "Answer sent": "回应已发送",
  "Answer not accepted": "回应未被接受",
  "Presentation ready": "出示材料已生成",
  "Disclosure history": "披露历史",
  Language: "语言",
  // onboarding
  "Create a new wallet, or restore one from its recovery phrase and backup file.": "新建钱包，或用助记词和备份文件恢复钱包。",
  "Create a wallet": "新建钱包",
  "Password (at least 8 characters)": "密码（至少 8 个字符）",
  "Create wallet": "新建钱包",
  "Restore a wallet": "恢复钱包",
  "Recovery phrase (24 words)": "助记词（24 个词）",
  "Backup file (full path)": "备份文件（完整路径）",
  "Choose…": "选择…",
  active: "有效",
  suspended: "已暂停",
  "; ": "；",
  ", ": "、",
  "The verifier accepted your answer.": "验证方接受了你的回应。",
  "Its words: {line}": "对方原话：{line}",
  "This is not a credential the wallet can take.": "这不是钱包可以接收的凭证。",
  "This link is not one the wallet can open.": "钱包无法打开此链接。",
  "The issuer's offer could not be read.": "无法读取颁发方的发证邀请。",
  "The recovery phrase is not valid: check each word.": "助记词无效：请检查每个词。",
  "This request cannot be answered.": "无法回应此请求。",
  "The settings need a correction.": "设置需要更正。",
  "The exchange with the other party failed.": "与对方的交换失败。",
  "Something went wrong inside the wallet.": "钱包内部出错。",
  "A file could not be read or written.": "无法读取或写入文件。",
  "The issuer refused.": "颁发方拒绝了。",
  "This window cannot show file dialogs: type the full path.": "此窗口无法显示文件对话框：请输入完整路径。",
  "No credential in this wallet fits the request.": "钱包中没有符合此请求的凭证。",
  "There is no request waiting for an answer.": "没有等待回应的请求。",
  "There is no wallet in this folder yet.": "此文件夹中还没有钱包。",
  "The ledger does not show this credential as issued.": "账本未显示此凭证已颁发。",
  "This credential was issued to another wallet.": "此凭证是颁发给另一个钱包的。",
  "The words do not match the recovery phrase shown.": "这些词与显示的助记词不符。",
  "The proving key file cannot be used.": "无法使用该证明密钥文件。",
  "This request is no longer the one under review: open it again.": "此请求已不是正在审阅的请求：请重新打开。",
  "The other party could not be reached.": "无法连接到对方。",
  "Your credential does not meet what the request asks.": "你的凭证不满足请求的条件。",
  "No consortium is trusted for this node.": "尚未为此节点信任任何联盟。",
  "The wallet could not do that.": "钱包无法完成此操作。",
  "A wallet already exists in this folder.": "此文件夹中已有钱包。",
  "The verifier was told you declined.": "已告知验证方你拒绝了。",
  "The verifier could not be told, or did not take the refusal ({line}); it receives nothing.":
    "未能告知验证方，或验证方未接受拒绝（{line}）；它什么也收不到。",
  "The presentation is below: send it another way, or open the link again.": "出示材料在下方：请用其他方式发送，或重新打开链接。",
  "{verifier} is not a verifier registered on the ledger": "{verifier} 不是账本上登记的验证方",
  "the request is not signed with the verifier's registered key": "请求不是用该验证方登记的密钥签名的",
  'purpose "{purpose}" is not one of its registered purposes ({registered})': "用途“{purpose}”不在其登记的用途之内（{registered}）",
  "it may not ask for {type} credentials": "它无权索取{type}",
  'it may not ask to see "{attribute}"': "它无权查看“{attribute}”",
  'it may not ask for a proof about "{attribute}"': "它无权要求关于“{attribute}”的证明",
  'it asks for "{attribute}" between two bounds, which can reveal the value; it registered one bound only':
    "它要求“{attribute}”落在两个界限之间，这可能暴露其值；它只登记了单侧界限",
  'it asks for "{attribute}" within a range {width} wide, which can reveal the value; it registered ranges at least {min} wide':
    "它要求“{attribute}”落在宽度为 {width} 的范围内，这可能暴露其值；它登记的范围宽度至少为 {min}",
  "the request goes beyond what the verifier registered": "请求超出了验证方登记的范围",
  "Choose the file: {what}": "选择文件：{what}",
  "New password": "新密码",
  "Restore wallet": "恢复钱包",
  "Wallet restored.": "钱包已恢复。",
  "Write these 24 words down, in order, and keep them offline. With the backup file they restore the wallet on another computer. They are shown only now.":
    "请按顺序抄下这 24 个词，离线保存。配合备份文件，可在另一台电脑上恢复钱包。它们只显示这一次。",
  "Type the 24 words again to confirm": "再次输入这 24 个词以确认",
  Confirm: "确认",
  "Recovery phrase confirmed.": "助记词已确认。",
  Password: "密码",
  Unlock: "解锁",
  "Unlocked.": "已解锁。",
  "Working": "处理中",
  "Copied.": "已复制。",
  "Copying is not allowed here: select the text and copy it yourself.": "此处不允许复制：请选中文本自行复制。",
  // credentials
  "{type} from {issuer}": "{issuer} 颁发的{type}",
  "valid from {date}": "生效于 {date}",
  "unlinkable tier": "不可关联层级",
  "selective disclosure": "选择性披露",
  "No credentials yet. Use Import to add one.": "还没有凭证。请用“导入”添加。",
  "Checking with the ledger…": "正在向账本核对…",
  "not checked: {why}": "未核对：{why}",
  "ledger unavailable": "账本不可用",
  "revoked by the issuer": "已被颁发方撤销",
  "(block {height})": "（区块 {height}）",
  "not revoked (checked live at block {height})": "未撤销（已在区块 {height} 实时核对）",
  Issuer: "颁发方",
  "Issuer DID": "颁发方 DID",
  Anchored: "上链",
  "block {height}": "区块 {height}",
  Revocation: "撤销状态",
  Valid: "有效期",
  "{from} to {until}": "{from} 至 {until}",
  "{name} — {status}, may issue {types}": "{name} — {status}，可颁发 {types}",
  Attributes: "属性",
  Attribute: "属性",
  Value: "值",
  "Back to credentials": "返回凭证列表",
  "no end date": "无截止日期",
  // import
  "An issuer's offer": "颁发方的发证邀请",
  "Offer link (openid-credential-offer://…)": "邀请链接（openid-credential-offer://…）",
  "Transaction code (sent to you separately)": "交易码（另行发给你的）",
  "Accept the offer": "接受邀请",
  "Offered by {host}: the transaction code and a proof that you hold this wallet's key go there.":
    "由 {host} 提供：交易码和你持有本钱包密钥的证明将发送到那里。",
  "Receive a credential": "接收凭证",
  "Give the issuer this holder binding: credentials issued to it can be presented only from this wallet. It contains public values only.":
    "把这个持有者绑定交给颁发方：颁发给它的凭证只能从本钱包出示。其中只有公开值。",
  "Your holder binding": "你的持有者绑定",
  Copy: "复制",
  "Credential file": "凭证文件",
  "…or paste the credential (offer) here": "…或在此粘贴凭证",
  "Redeeming the offer and checking the credential against the ledger…": "正在兑换邀请并向账本核对凭证…",
  "Checking the credential against the ledger…": "正在向账本核对凭证…",
  "Imported {type} from {issuer}.": "已导入 {issuer} 颁发的{type}。",
  "An issuer's offer was opened with the wallet: type the transaction code it sent you, then accept.":
    "有颁发方的邀请链接用本钱包打开：请输入对方另行发给你的交易码，然后接受。",
  // answering
  "Link from the verifier (openid4vp://…)": "验证方的链接（openid4vp://…）",
  "The wallet fetches the verifier's signed request, shows you what it asks, and sends your answer to the verifier itself.":
    "钱包会获取验证方签名的请求，向你说明它要什么，并由钱包自己把回应发给验证方。",
  "…or a request file": "…或请求文件",
  "…or paste the verifier's request": "…或粘贴验证方的请求",
  "Review request": "审阅请求",
  "Tell the verifier you decline": "告诉验证方你拒绝",
  "Nothing was sent.": "什么也没有发送。",
  "A verifier's link was opened with the wallet{where}. Press Review request to fetch it.":
    "有验证方的链接用本钱包打开{where}。按“审阅请求”获取它。",
  " (its request is at {host})": "（请求位于 {host}）",
  Verifier: "验证方",
  "not registered": "未注册",
  Purpose: "目的",
  "Answer valid until": "回应有效至",
  Session: "会话",
  "Will be shown": "将会出示",
  "Will be proven, without showing the values": "将被证明，但不出示具体值",
  "Stays hidden": "保持隐藏",
  "Nothing.": "无。",
  "The answer goes to {uri}, the address the verifier signed.": "回应将发送到 {uri}，即验证方签名的地址。",
  "Save a copy of the presentation to (full path, optional)": "另存一份出示材料到（完整路径，可选）",
  "Approve and send": "同意并发送",
  Decline: "拒绝",
  "Declined. No presentation was made.": "已拒绝，未生成任何出示材料。",
  "Proving in zero knowledge… this takes a moment.": "正在进行零知识证明…需要片刻。",
  "Building the presentation…": "正在生成出示材料…",
  "Sent: the verifier accepted your answer.": "已发送：验证方接受了你的回应。",
  "The verifier did not accept the answer.": "验证方没有接受回应。",
  "A copy is saved to {path}.": "副本已保存到 {path}。",
  "What was sent": "发送的内容",
  "Presentation saved to {path}.": "出示材料已保存到 {path}。",
  "Presentation ready.": "出示材料已生成。",
  "Saved to {path}.": "已保存到 {path}。",
  "Send it to the verifier, or copy it:": "把它发给验证方，或复制：",
  Presentation: "出示材料",
  // consent (format.ts)
  "An unregistered verifier": "一个未注册的验证方",
  "{who} asks for your {type}": "{who} 请求你的{type}",
  "The issuer has revoked this credential: the verifier will refuse it.": "颁发方已撤销此凭证：验证方会拒绝它。",
  "This verifier is not registered on the ledger.": "此验证方未在账本上注册。",
  "The request stays inside what this verifier registered on the ledger.": "该请求在此验证方于账本上登记的范围之内。",
  "Outside its registered scope: {what}": "超出其登记范围：{what}",
  "Answer only if the verifier's screen shows this session: a request someone else started and forwarded to you shows theirs. The verifier asks that the answer be sent to {uri}.":
    "只有验证方屏幕上显示的也是这个会话值时才回应：别人发起并转给你的请求显示的是他们的会话值。验证方要求把回应发送到 {uri}。",
  "This request names no session: answer it only if you asked this verifier for it yourself.":
    "此请求没有会话值：只有在你亲自向该验证方索取时才回应。",
  'This verifier will recognise your unlinkable answers to it as coming from one person (its scope "{scope}"); no other verifier can link them.':
    "此验证方能认出你给它的不可关联回应来自同一个人（其范围“{scope}”）；其他验证方无法关联它们。",
  'Your {handle} goes into this answer encrypted to the regulator council "{name}" ({council}). Any {threshold} of its {count} members ({members}) can open it, and only after a public governance vote on the ledger, where every opening stays visible. The verifier itself cannot read it.':
    "你的{handle}会加密给监管委员会“{name}”（{council}）放入此回应。其 {count} 名成员（{members}）中任意 {threshold} 名，且只有在账本上公开的治理投票之后才能打开它，每次打开都公开可见。验证方自己无法读取。",
  // errors (format.ts)
  "The wallet is locked. Enter your password to unlock it.": "钱包已锁定。请输入密码解锁。",
  "That password does not open this wallet. Nothing was changed.": "该密码无法打开此钱包。未做任何更改。",
  "Choose a password of at least 8 characters.": "请选择至少 8 个字符的密码。",
  "The ledger could not be reached or did not prove its answer.": "无法连接账本，或账本未能证明其回答。",
  "This verifier asked for more than it registered, so the wallet refused.": "此验证方请求的超出了其登记范围，钱包已拒绝。",
  "That credential is not in this wallet; the Credentials screen lists them.": "该凭证不在此钱包中；“凭证”页列出了所有凭证。",
  "An anonymous answer needs the circuit's proving key: choose its file in Settings.": "匿名回应需要电路的证明密钥：请在“设置”中选择其文件。",
  "The file that records which consortium this wallet trusts is damaged. Delete trust.json in the wallet folder, then set the genesis file or fingerprint again in Settings.":
    "记录本钱包信任哪个联盟的文件已损坏。请删除钱包文件夹中的 trust.json，然后在“设置”中重新设置创世文件或指纹。",
  "This credential's schema is neither built in nor published on the ledger, so it cannot be shown or presented.":
    "此凭证的模式既非内置也未在账本上发布，因此无法显示或出示。",
  "Something went wrong. Try again.": "出了点问题，请重试。",
  // history
  "When (UTC)": "时间（UTC）",
  "To whom": "对象",
  Revealed: "已出示",
  Proven: "已证明",
  nothing: "无",
  "Nothing disclosed yet.": "尚未披露任何内容。",
  // settings
  "Ledger nodes (addresses separated by commas; the first that answers is used)": "账本节点（地址以逗号分隔；使用第一个应答的节点）",
  "Genesis file your consortium published (full path; pinned on first use)": "联盟发布的创世文件（完整路径；首次使用时固定）",
  "Or the genesis fingerprint it published (64 hex digits)": "或其发布的创世指纹（64 位十六进制）",
  "Lock after idle minutes (0: never)": "空闲多少分钟后锁定（0：从不）",
  "Unlinkable-tier proving key file (optional)": "不可关联层级的证明密钥文件（可选）",
  "Save settings": "保存设置",
  "Validator set": "验证者集合",
  "Asking the ledger…": "正在询问账本…",
  "Write an encrypted backup to (full path)": "将加密备份写入（完整路径）",
  "Back up": "备份",
  "Current password": "当前密码",
  "Change password": "修改密码",
  "Wallet folder:": "钱包文件夹：",
  "Settings saved.": "设置已保存。",
  "Backup written to {path}. Keep it with your recovery phrase.": "备份已写入 {path}。请与助记词一起保管。",
  "Password changed.": "密码已修改。",
  "Chain {chain} through {node} (at block {height}): epoch {epoch}, {count} validators. The genesis matches the pinned one (fingerprint {fp}).":
    "链 {chain}，经由 {node}（区块 {height}）：纪元 {epoch}，{count} 个验证者。创世与固定的一致（指纹 {fp}）。",
  "SM2 key": "SM2 公钥",
  Address: "地址",
  "Locked.": "已锁定。",
  "The wallet locked itself after being idle.": "钱包因空闲已自动锁定。",
  "A verifier's link was opened with the wallet: unlock it to review the request.": "有验证方的链接用本钱包打开：请解锁后审阅请求。",
  "Language / 语言": "Language / 语言",
};
