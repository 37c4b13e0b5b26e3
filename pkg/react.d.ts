// Types of `portcullis/react`.
import type { ReactElement } from "react";
import type { CheckResult, PasswordChecker, RuleStatus, UserInfo } from "./index.js";

/** The meter's texts (English by default); any subset may be given. */
export interface MeterLabels {
  meter: string;
  /** Labels of scores 0..4. */
  scores: [string, string, string, string, string];
  unknown: string;
  status: Record<RuleStatus, string>;
  summary: (met: number, total: number) => string;
  allMet: string;
}

export declare const DEFAULT_LABELS: MeterLabels;

export interface PasswordCheckState {
  /** The verdict on the password; null while there is no checker. */
  result: CheckResult | null;
  /** Whether the zxcvbn estimator has loaded (score and feedback available). */
  estimatorLoaded: boolean;
  /** Why the estimator failed to load, if it did. */
  error: unknown;
}

/** Checks a controlled input's value on every render; loads the estimator once something is typed. */
export declare function usePasswordCheck(checker: PasswordChecker | null, password: string, user?: UserInfo): PasswordCheckState;

export interface PasswordMeterProps {
  checker: PasswordChecker | null;
  /** The controlled password input's value. */
  password: string;
  user?: UserInfo;
  labels?: Partial<Omit<MeterLabels, "status">> & { status?: Partial<Record<RuleStatus, string>> };
  /** How long typing must pause before the live region speaks (ms). Defaults to 700. */
  debounceMs?: number;
  id?: string;
}

/** The accessible strength meter and requirements checklist. */
export declare function PasswordMeter(props: PasswordMeterProps): ReactElement;
