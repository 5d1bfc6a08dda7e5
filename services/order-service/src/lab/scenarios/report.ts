/** The JSON every bad-scenario run returns. */
export interface ScenarioReport {
  scenario: 'db' | 'mq' | 'pool' | 'early';
  /** mq: `broker` (Kafka cut after commit) or `crash` (process killed between commit and send). */
  variant?: string;
  strategy: string;
  title: string;
  /** What happened, in order, in plain words. */
  steps: string[];
  findings: Record<string, unknown>;
  audit: {
    ghosts: { orderId: string; partition: number; offset: number }[];
    blackHoles: string[];
    /** Messages appended before their order committed (when the audit could tell: prematureChecked). */
    premature: { orderId: string; partition: number; offset: number; leadMs: number }[];
    prematureChecked: boolean;
    /** What the premature check compared, or why it could not run. */
    prematureReason: string;
    topicTotals: { messages: number; ghosts: number; blackHoles: number; duplicates: number; premature: number };
  } | null;
  /** True when the run shows the damage the scenario is about (for a naive strategy that is the expected result). */
  damage: boolean;
  summary: string;
  toxicsLeft: { postgres: string[]; kafka: string[] };
  durationMs: number;
}
