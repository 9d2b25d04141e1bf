// example.spec.mjs — RAPPORT_SHOP is your site (its pages carry Rapport's script tag)
import { expect, test } from "@playwright/test";
import {
  assertNothingPrivate, expectHint, expectShown, hesitant, sentRequests,
} from "./rapport-testing.mjs";

test("a hesitant visitor sees the returns box", async ({ page }) => {
  const played = await hesitant(page, { url: `${process.env.RAPPORT_SHOP}/leaf.html`, seed: 1 });
  const hint = await expectHint(page, { kind: "reassure", within: 20 });
  expect(hint.pattern).toBe("hesitant");
  await expectShown(page.locator('[data-rapport-show~="hesitant"]'));
  assertNothingPrivate(sentRequests(page), { typed: played.typed });
});
