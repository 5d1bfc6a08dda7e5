export type Progress = (line: string) => void;

export interface ServiceStatus {
  name: string;
  /** running: started by this stack; external: answering but not ours (reused, never stopped); stopped. */
  state: 'running' | 'external' | 'stopped';
  pid?: number | undefined;
  version?: string | undefined;
  listens: string[];
}
