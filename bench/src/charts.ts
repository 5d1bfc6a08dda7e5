/**
 * Vega-Lite spec → SVG, headless in Node: vega-lite compiles the spec to Vega, vega renders it with
 * renderer 'none' and View#toSVG() (no canvas needed; text widths are estimated).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ChartSpec } from './types.ts';

const DEFAULTS = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 480,
  height: 260,
  background: 'white',
  padding: 8,
  config: {
    font: 'Helvetica, Arial, sans-serif',
    title: { fontSize: 14, anchor: 'start' },
    axis: { labelFontSize: 11, titleFontSize: 12 },
    axisX: { labelAngle: 0 },
    axisY: { labelLimit: 320 },
    legend: { labelFontSize: 11, orient: 'bottom', labelLimit: 400 },
  },
};

export async function renderSvg(spec: ChartSpec): Promise<string> {
  const full = { ...DEFAULTS, ...spec, config: { ...DEFAULTS.config, ...((spec.config as object | undefined) ?? {}) } } as unknown as TopLevelSpec;
  const { spec: vgSpec } = compile(full);
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
