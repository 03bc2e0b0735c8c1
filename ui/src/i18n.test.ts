import { afterEach, describe, expect, it } from "vitest";
import formatSource from "./format.ts?raw";
import { type Consent, aboutOf, consentView } from "./format";
import { setLang, t, ZH } from "./i18n";
import mainSource from "./main.ts?raw";

/** Every text literal the screens pass to t(), and the error hints. */
function texts(): string[] {
  const out: string[] = [];
  for (const src of [mainSource, formatSource]) {
    for (const m of src.matchAll(/\bt\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/g)) {
      out.push(JSON.parse(m[1].startsWith("'") ? `"${m[1].slice(1, -1).replace(/"/g, '\\"')}"` : m[1]));
    }
  }
  const format = formatSource;
  const hints = format.slice(format.indexOf("const HINTS"), format.indexOf("};", format.indexOf("const HINTS")));
  for (const m of hints.matchAll(/:\s*\n?\s*("(?:[^"\\]|\\.)*")/g)) out.push(JSON.parse(m[1]));
  return out;
}

describe("languages", () => {
  afterEach(() => setLang("en"));

  it("has a Simplified Chinese text for every text the screens show", () => {
    const all = texts();
    expect(all.length).toBeGreaterThan(100);
    const missing = all.filter((s) => !(s in ZH));
    expect(missing).toEqual([]);
  });

  it("keeps every placeholder in the translation", () => {
    for (const [en, zh] of Object.entries(ZH)) {
      const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(names(zh), en).toEqual(names(en));
    }
  });

  it("fills placeholders and switches language", () => {
    expect(t("Imported {type} from {issuer}.", { type: "University Diploma", issuer: "Tsinghua" })).toBe(
      "Imported University Diploma from Tsinghua.",
    );
    setLang("zh-CN");
    expect(t("Imported {type} from {issuer}.", { type: "学位证书", issuer: "清华大学" })).toBe("已导入 清华大学 颁发的学位证书。");
    const v0: Consent = {
      verifier: "did:credence:80e79d92b26f31f50a22ff164ab585622afb95ae",
      verifierName: "华为招聘",
      purpose: "employment screening",
      tier: "selective",
      credential: {
        id: "b1",
        credentialType: "UniversityDiploma",
        issuer: "did:credence:30aeb2bf069f9ef67557e0ace1cdb1c99a26668c",
        issuerName: "清华大学",
        validFrom: 1,
        validUntil: null,
        anchoredAt: 4,
        status: { listId: 0, index: 0 },
        unlinkable: false,
        importedAt: 2,
      },
      disclosed: [],
      proven: [{ attribute: "gpa", atLeast: "3.00", atMost: null }],
      hidden: [],
      scopeViolations: [
        { code: "disclose", attribute: "student_id" },
        { code: "narrowRange", attribute: "gpa", width: 10, minWidth: 50 },
      ],
      revoked: false,
      expiresAt: 3,
      channel: null,
      nullifierScope: null,
    };
    const v = consentView(v0);
    expect(v.title).toBe("华为招聘 请求你的学位证书");
    // The attribute named by its schema's title in the screen's language (`x-credence-l10n`),
    // else its title, else the wallet's name for a built-in attribute.
    const notes = [
      {
        name: "gpa",
        title: "Grade point average",
        description: "On a 4.0 scale",
        translations: [
          { lang: "fr", title: "Moyenne", description: null },
          { lang: "zh-CN", title: "绩点", description: "4.0 分制" },
        ],
      },
      { name: "degree", title: "Degree awarded", description: null, translations: [{ lang: "zh-TW", title: "學位", description: null }] },
      { name: "major", title: "Field", description: "What was studied" },
    ];
    expect(consentView(v0, notes).proven).toEqual(["绩点 ≥ 3.00"]);
    expect(consentView({ ...v0, hidden: ["degree", "major", "name"] }, notes).hidden).toEqual(["學位", "Field", "姓名"]);
    expect(aboutOf(notes, "gpa")).toBe("4.0 分制");
    expect(aboutOf(notes, "major")).toBe("What was studied");
    setLang("en");
    expect(consentView(v0, notes).proven).toEqual(["Grade point average ≥ 3.00"]);
    expect(aboutOf(notes, "gpa")).toBe("On a 4.0 scale");
    setLang("zh-CN");
    expect(v.scope.text).toBe(
      "超出其登记范围：它无权查看“学号”；它要求“平均学分绩点”落在宽度为 10 的范围内，这可能暴露其值；它登记的范围宽度至少为 50",
    );
  });
});
