/**
 * @module llama.cpp's BPE pre-tokenizer types and names (generated from llama.cpp's
 * src/llama-vocab.cpp by tests/tokenizer/gen_pre_types.ts; do not edit by hand).
 */

/** Expressions (applied in order) and GPT-2 byte encoding of each pre-tokenizer type. */
export const PRE_TYPES: Readonly<
  Record<string, { readonly exprs: readonly string[]; readonly byteEncode: boolean }>
> = {
  LLAMA3: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  JAIS2: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}",
    ],
    byteEncode: true,
  },
  DBRX: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  SMAUG: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  DEEPSEEK_LLM: {
    exprs: [
      "[\u000d\u000a]",
      "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\u{10400}-\u{1044f}\u{104b0}-\u{104d3}\u{104d8}-\u{104fb}\u{10c80}-\u{10cb2}\u{10cc0}-\u{10cf2}\u{118a0}-\u{118df}\u{1e900}-\u{1e943}]+",
      "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+",
      "\\s+$",
      "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+",
      "\\p{N}+",
    ],
    byteEncode: true,
  },
  DEEPSEEK3_LLM: {
    exprs: [
      "\\p{N}{1,3}",
      "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\u000d\u000a\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\u000d\u000a]*|\\s*[\u000d\u000a]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  HUNYUAN_DENSE: {
    exprs: [
      "\\p{N}{1,3}",
      "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\u000d\u000a\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\u000d\u000a]*|\\s*[\u000d\u000a]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  JOYAI_LLM: {
    exprs: [
      "\\p{N}{1,3}",
      "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\u000d\u000a\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\u000d\u000a]*|\\s*[\u000d\u000a]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  HY_V4: {
    exprs: [
      "\\p{N}{1,3}",
      "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\u000d\u000a\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\u000d\u000a]*|\\s*[\u000d\u000a]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  SPARK2_5: {
    exprs: [
      "\\p{N}{1,3}",
      "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\u000d\u000a\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\u000d\u000a]|\\s+(?!\\S)|\\s+",
      "\\p{N}",
    ],
    byteEncode: true,
  },
  YOUTU: {
    exprs: [
      "[\uac00-\ud7a3\u3131-\u318e]+|[\uff01\u2026\u201c\u201d\u2018\u2019\u2014\uff1a\uff1b\uff0c\u3001-\u303f\ufe30-\ufe4f]+|[\u3105-\u312f]+|[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  DEEPSEEK_CODER: {
    exprs: [
      "[\u000d\u000a]",
      "\\s?\\p{L}+",
      "\\s?\\p{P}+",
      "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+",
      "\\p{N}",
    ],
    byteEncode: true,
  },
  FALCON: {
    exprs: [
      "[\\p{P}\\$\\+<=>\\^~\\|`]+",
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
      "[0-9][0-9][0-9]",
    ],
    byteEncode: true,
  },
  STARCODER: {
    exprs: [
      "\\p{N}",
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  REFACT: {
    exprs: [
      "\\p{N}",
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  COMMAND_R: {
    exprs: [
      "\\p{N}",
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  SMOLLM: {
    exprs: [
      "\\p{N}",
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  CODESHELL: {
    exprs: [
      "\\p{N}",
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  EXAONE: {
    exprs: [
      "\\p{N}",
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  MINERVA: {
    exprs: [
      "\\p{N}",
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  MELLUM2: {
    exprs: [
      "\\p{N}",
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  GPT2: {
    exprs: [
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  MPT: {
    exprs: [
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  OLMO: {
    exprs: [
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  JAIS: {
    exprs: [
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  TRILLION: {
    exprs: [
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  GRANITE_DOCLING: {
    exprs: [
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  STABLELM2: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  QWEN2: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  HUNYUAN: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  SOLAR_OPEN: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  QWEN35: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  PORO: {
    exprs: [
      " ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+",
    ],
    byteEncode: true,
  },
  BLOOM: {
    exprs: [
      " ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+",
    ],
    byteEncode: true,
  },
  GPT3_FINNISH: {
    exprs: [
      " ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+",
    ],
    byteEncode: true,
  },
  CHATGLM4: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  VIKING: {
    exprs: [
      " ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+",
      "\\p{N}",
    ],
    byteEncode: true,
  },
  TEKKEN: {
    exprs: [
      "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  CHAMELEON: {
    exprs: [
      "<sentinel:[0-9]+>",
      "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
      "([\\t\\n]|    |  )",
      "\\p{N}",
      "[\\p{P}!-/:-@\\[-`{-~]",
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    byteEncode: true,
  },
  GPT4O: {
    exprs: [
      "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  MINIMAX_M2: {
    exprs: [
      "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  GRANITE_EMB_MULTI: {
    exprs: [
      "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))+((?=[\\p{L}\\p{M}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  TINY_AYA: {
    exprs: [
      "\\d{1,3}(?=(?:\\d{3})*\\b)",
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  KIMI_K2: {
    exprs: [
      "\\p{Han}+",
    ],
    byteEncode: true,
  },
  SUPERBPE: {
    exprs: [
      "\\p{N}+",
      "(?=(\\d{3})+(?!\\d))",
    ],
    byteEncode: true,
  },
  BAILINGMOE: {
    exprs: [
      "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  SEED_CODER: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  UFAKZEKA: {
    exprs: [
      "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  GROK_2: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  AFMOE: {
    exprs: [
      "\\p{AFMoE_digits}",
      "[\u4e00-\u9fff\u3400-\u4dbf\u8c48-\ufaff\u3040-\u309f\u30a0-\u30ff\uff65-\uff9f\u2f00-\u2fdf\u0e40-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f\uaa60-\uaa7f\ua9e0-\ua9ff\uac00-\ud7af\u1100-\u11ff]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  LAGUNA: {
    exprs: [
      "[^\\n]+|[\\n]+",
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  EXAONE_MOE: {
    exprs: [
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  GEMMA4: {
    exprs: [
      "[^\\n]+|[\\n]+",
    ],
    byteEncode: false,
  },
  SARVAM_MOE: {
    exprs: [
      "[^\\n]+|[\\n]+",
    ],
    byteEncode: false,
  },
  MINICPM5: {
    exprs: [
      "\\p{N}{1,3}",
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    byteEncode: true,
  },
  WHITESPACE: {
    exprs: [
      "\\S+",
    ],
    byteEncode: false,
  },
  DEFAULT: {
    exprs: [
      "[\\p{P}\\$\\+<=>\\^~\\|]+",
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
      "\\p{N}+",
      "[0-9][0-9][0-9]",
    ],
    byteEncode: true,
  },
};

/** Flags `llama_vocab::impl::load` sets for a pre-tokenizer name (over the BPE defaults). */
export interface PreFlags {
  readonly ignoreMerges?: boolean;
  readonly addBos?: boolean;
  readonly cleanSpaces?: boolean;
  readonly escapeWhitespaces?: boolean;
  readonly addSep?: boolean;
  /** The BOS id is cleared (the metadata may still name one). */
  readonly noBos?: boolean;
}

/** `tokenizer.ggml.pre` names: their pre-tokenizer type and flags. */
export const PRE_NAMES: ReadonlyMap<string, { readonly type: string; readonly flags: PreFlags }> =
  new Map([
    ["default", { type: "DEFAULT", flags: {} }],
    ["minicpm5", { type: "MINICPM5", flags: { ignoreMerges: true } }],
    ["llama3", { type: "LLAMA3", flags: { ignoreMerges: true, addBos: true } }],
    ["llama-v3", { type: "LLAMA3", flags: { ignoreMerges: true, addBos: true } }],
    ["llama-bpe", { type: "LLAMA3", flags: { ignoreMerges: true, addBos: true } }],
    ["falcon3", { type: "LLAMA3", flags: { ignoreMerges: true, addBos: true } }],
    ["falcon-h1", { type: "LLAMA3", flags: { ignoreMerges: true, addBos: true } }],
    ["pixtral", { type: "LLAMA3", flags: { ignoreMerges: true, addBos: true } }],
    ["midm-2.0", { type: "LLAMA3", flags: { ignoreMerges: true, addBos: true } }],
    ["lfm2", { type: "LLAMA3", flags: { ignoreMerges: true, addBos: true } }],
    ["jina-v5-nano", { type: "LLAMA3", flags: { ignoreMerges: true, addBos: true } }],
    ["deepseek-llm", { type: "DEEPSEEK_LLM", flags: { cleanSpaces: false } }],
    ["deepseek-coder", { type: "DEEPSEEK_CODER", flags: { cleanSpaces: false } }],
    ["deepseek-v3", { type: "DEEPSEEK3_LLM", flags: { cleanSpaces: false } }],
    ["spark2_5", { type: "SPARK2_5", flags: { cleanSpaces: false } }],
    ["youtu", { type: "YOUTU", flags: { cleanSpaces: false, ignoreMerges: true } }],
    ["falcon", { type: "FALCON", flags: {} }],
    ["mpt", { type: "MPT", flags: {} }],
    ["starcoder", { type: "STARCODER", flags: {} }],
    ["gpt-2", { type: "GPT2", flags: {} }],
    ["phi-2", { type: "GPT2", flags: {} }],
    ["jina-es", { type: "GPT2", flags: {} }],
    ["jina-de", { type: "GPT2", flags: {} }],
    ["gigachat", { type: "GPT2", flags: {} }],
    ["jina-v2-es", { type: "GPT2", flags: {} }],
    ["jina-v2-de", { type: "GPT2", flags: {} }],
    ["a.x-4.0", { type: "GPT2", flags: {} }],
    ["mellum", { type: "GPT2", flags: {} }],
    ["modern-bert", { type: "GPT2", flags: {} }],
    ["jais-2", { type: "JAIS2", flags: {} }],
    ["gemma4", { type: "GEMMA4", flags: { escapeWhitespaces: true } }],
    ["granite-embed-multi-311m", { type: "GEMMA4", flags: { escapeWhitespaces: true } }],
    ["sarvam-moe", { type: "SARVAM_MOE", flags: { escapeWhitespaces: true, cleanSpaces: false } }],
    ["jina-v1-en", { type: "GPT2", flags: { addSep: true } }],
    ["jina-v2-code", { type: "GPT2", flags: { addSep: true } }],
    ["roberta-bpe", { type: "GPT2", flags: { addSep: true } }],
    ["whitespace", { type: "WHITESPACE", flags: {} }],
    ["refact", { type: "REFACT", flags: {} }],
    ["command-r", { type: "COMMAND_R", flags: { cleanSpaces: false } }],
    ["qwen2", { type: "QWEN2", flags: { cleanSpaces: false } }],
    ["deepseek-r1-qwen", { type: "QWEN2", flags: { cleanSpaces: false } }],
    ["kormo", { type: "QWEN2", flags: { cleanSpaces: false } }],
    ["f2llmv2", { type: "QWEN2", flags: { cleanSpaces: false } }],
    ["qwen35", { type: "QWEN35", flags: { cleanSpaces: false } }],
    ["stablelm2", { type: "STABLELM2", flags: {} }],
    ["olmo", { type: "OLMO", flags: {} }],
    ["dbrx", { type: "DBRX", flags: {} }],
    ["smaug-bpe", { type: "SMAUG", flags: {} }],
    ["poro-chat", { type: "PORO", flags: { cleanSpaces: false } }],
    ["glm4", { type: "CHATGLM4", flags: { noBos: true } }],
    ["chatglm-bpe", { type: "CHATGLM4", flags: { noBos: true } }],
    ["viking", { type: "VIKING", flags: { cleanSpaces: false } }],
    ["jais", { type: "JAIS", flags: {} }],
    ["tekken", { type: "TEKKEN", flags: { cleanSpaces: false, ignoreMerges: true, addBos: true } }],
    ["smollm", { type: "SMOLLM", flags: { cleanSpaces: false } }],
    ["codeshell", { type: "CODESHELL", flags: {} }],
    ["bloom", { type: "BLOOM", flags: {} }],
    ["gpt3-finnish", { type: "GPT3_FINNISH", flags: {} }],
    ["exaone", { type: "EXAONE", flags: {} }],
    ["exaone4", { type: "GPT2", flags: {} }],
    ["exaone-moe", { type: "EXAONE_MOE", flags: {} }],
    ["chameleon", { type: "CHAMELEON", flags: { addBos: true, cleanSpaces: false } }],
    ["minerva-7b", { type: "MINERVA", flags: {} }],
    ["megrez", { type: "QWEN2", flags: {} }],
    ["gpt-4o", { type: "GPT4O", flags: { cleanSpaces: false } }],
    ["llama4", { type: "GPT4O", flags: { cleanSpaces: false } }],
    ["kanana2", { type: "GPT4O", flags: { cleanSpaces: false } }],
    ["talkie", { type: "GPT4O", flags: { cleanSpaces: false } }],
    ["granite-embed-multi-97m", {
      type: "GRANITE_EMB_MULTI",
      flags: { cleanSpaces: false, ignoreMerges: true },
    }],
    ["tiny_aya", { type: "TINY_AYA", flags: { cleanSpaces: false } }],
    ["cohere2moe", { type: "TINY_AYA", flags: { cleanSpaces: false } }],
    ["superbpe", { type: "SUPERBPE", flags: { cleanSpaces: false } }],
    ["trillion", { type: "TRILLION", flags: { cleanSpaces: false } }],
    ["granite-docling", { type: "GRANITE_DOCLING", flags: { cleanSpaces: false } }],
    ["bailingmoe", { type: "BAILINGMOE", flags: { cleanSpaces: false } }],
    ["bailingmoe2", { type: "BAILINGMOE", flags: { cleanSpaces: false } }],
    ["llada-moe", { type: "BAILINGMOE", flags: { cleanSpaces: false } }],
    ["seed-coder", { type: "SEED_CODER", flags: { cleanSpaces: false } }],
    ["hunyuan", { type: "HUNYUAN", flags: { cleanSpaces: false } }],
    ["hunyuan-dense", { type: "HUNYUAN_DENSE", flags: { cleanSpaces: false } }],
    ["hy_v4", { type: "HY_V4", flags: { cleanSpaces: false } }],
    ["joyai-llm", { type: "JOYAI_LLM", flags: { cleanSpaces: false } }],
    ["kimi-k2", { type: "KIMI_K2", flags: { cleanSpaces: false } }],
    ["ufakzeka", { type: "UFAKZEKA", flags: { cleanSpaces: false } }],
    ["grok-2", { type: "GROK_2", flags: { cleanSpaces: false } }],
    ["afmoe", { type: "AFMOE", flags: { cleanSpaces: false } }],
    ["laguna", { type: "LAGUNA", flags: { cleanSpaces: false } }],
    ["minimax-m2", { type: "MINIMAX_M2", flags: { cleanSpaces: false } }],
    ["solar-open", { type: "SOLAR_OPEN", flags: { cleanSpaces: false } }],
    ["mellum2", { type: "MELLUM2", flags: {} }],
  ]);
