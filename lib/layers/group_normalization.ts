import { rangeError, typeError } from '../core/errors.js';
import { groupNormAsync, groupNormOp } from '../ops/group_norm.js';
import type { Tensor } from '../core/tensor.js';
import { AffineLayer, type AffineConfig, type AffineOptions } from './affine.js';
import type { ApplyOptions } from './layer.js';
import { registerLayer } from './registry.js';

/** Arguments of {@link GroupNormalization}; defaults are Keras 3's. */
export interface GroupNormalizationOptions extends AffineOptions {
  /** Number of channel groups; must divide the channels. -1 means one group per channel (instance normalization). Default 32. */
  groups?: number;
  /** The channel axis (not the batch axis 0). Default -1 (channels-last); 1 for channels-first. */
  axis?: number;
}

/** What {@link GroupNormalization.getConfig} returns. */
export interface GroupNormalizationConfig extends AffineConfig {
  groups: number;
  axis: number;
}

/**
 * Group normalization (Wu & He, 2018), as Keras 3's `GroupNormalization`:
 * the channels on `axis` are split into `groups` groups of adjacent
 * channels, and each sample (axis 0) is normalized per group over the
 * group's channels and every other axis, with its own mean and biased
 * variance; then `y = xhat * gamma[c] + beta[c]` per channel. `groups: 1`
 * normalizes each sample over everything (but, unlike LayerNormalization,
 * with per-channel gamma/beta); `groups: -1` is instance normalization.
 * The same in training and inference. Differentiable with respect to the
 * input, gamma and beta.
 *
 * Runs on the batch-norm kernels with one (sample, group) pair per kernel
 * channel (see `lib/ops/group_norm.ts`).
 *
 * @example
 * const x = nk.randomNormal([2, 8, 8, 64], { seed: 1 });           // NHWC
 * const gn = new nk.layers.GroupNormalization({ groups: 8 });
 * const y = gn.apply(x);
 * const nchw = new nk.layers.GroupNormalization({ groups: 8, axis: 1 }); // NCHW
 */
export class GroupNormalization extends AffineLayer {
  readonly groups: number;
  readonly axis: number;

  /** The resolved channel axis and group count, fixed by build. */
  private channelAxis = -1;
  private groupCount = 0;

  /**
   * @param options Keras arguments in camelCase (see {@link GroupNormalizationOptions})
   * @throws {TypeError}  for options of the wrong type (groups or axis not an integer, ...)
   * @throws {RangeError} for groups < 1 (other than -1), epsilon <= 0 or not finite, unknown names
   */
  constructor(options: GroupNormalizationOptions = {}) {
    const api = 'GroupNormalization';
    super(options, api);
    const { groups = 32, axis = -1 } = options;
    if (typeof groups !== 'number' || !Number.isInteger(groups)) throw typeError(api, 'groups as an integer', groups);
    if (groups < 1 && groups !== -1) throw rangeError(api, 'groups >= 1, or -1 for one group per channel', groups);
    if (typeof axis !== 'number' || !Number.isInteger(axis)) throw typeError(api, 'axis as an integer', axis);
    this.groups = groups;
    this.axis = axis;
  }

  /**
   * Recreates a layer from {@link getConfig}'s output.
   * @param config a config object
   * @returns a new, unbuilt layer
   * @throws {TypeError} when `config` is not an object; as the constructor otherwise
   */
  static fromConfig(config: Partial<GroupNormalizationConfig>): GroupNormalization {
    if (typeof config !== 'object' || config === null) throw typeError('GroupNormalization.fromConfig', 'a config object', config);
    return new GroupNormalization(config as GroupNormalizationOptions);
  }

  /** The group count in use: `groups`, or the channel count for -1 (0 before the layer is built). */
  get resolvedGroups(): number {
    return this.groupCount;
  }

  protected checkInput(x: Tensor, api: string): void {
    const shapeText = `shape [${x.shape.join(',')}]`;
    const rank = x.rank;
    if (this.built) {
      const expected = this.buildShape;
      const axis = this.channelAxis;
      if (rank !== expected.length || x.shape[axis] !== expected[axis]) {
        throw rangeError(api, `input of rank ${expected.length} with ${expected[axis]} channels on axis ${this.axis}`, shapeText, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
      }
      return;
    }
    if (rank < 2) throw rangeError(api, 'input of rank >= 2 (batch and channel axes)', shapeText, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    if (this.axis < -rank || this.axis >= rank) throw rangeError(api, `axis in [${-rank}, ${rank - 1}] for input of rank ${rank}`, this.axis);
    const axis = this.axis < 0 ? this.axis + rank : this.axis;
    if (axis === 0) throw rangeError(api, 'a channel axis other than the batch axis 0', `axis ${this.axis} for input of rank ${rank}`, true);
    const channels = x.shape[axis];
    const groups = this.groups === -1 ? channels : this.groups;
    if (channels === 0 || channels % groups !== 0) {
      throw rangeError(api, `groups (${this.groups}) to divide the channels on axis ${this.axis}`, `${channels} channels in ${shapeText}`, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
    if (x.shape.some((d, i) => i !== 0 && d === 0)) {
      throw rangeError(api, 'input without zero-size dimensions other than the batch axis', shapeText, true, 'ERR_NORMKIT_SHAPE_MISMATCH');
    }
  }

  protected build(inputShape: readonly number[]): void {
    const rank = inputShape.length;
    this.channelAxis = this.axis < 0 ? this.axis + rank : this.axis;
    const channels = inputShape[this.channelAxis];
    this.groupCount = this.groups === -1 ? channels : this.groups;
    this.addAffineWeights([channels]);
  }

  protected call(x: Tensor, _options: ApplyOptions): Tensor {
    const gamma = this.gamma ? this.gamma.read() : null;
    const beta = this.beta ? this.beta.read() : null;
    return groupNormOp(x, this.channelAxis, this.groupCount, gamma, beta, this.epsilon);
  }

  /** The forward on the thread pool (statistics and normalization in `batchNormTrainAsync`); weights copied at call time. */
  protected override callAsync(x: Tensor, _options: ApplyOptions): Promise<Tensor> {
    const gamma = this.gamma ? this.gamma.read() : null;
    const beta = this.beta ? this.beta.read() : null;
    return groupNormAsync(x, this.channelAxis, this.groupCount, gamma, beta, this.epsilon);
  }

  override getConfig(): GroupNormalizationConfig {
    return { ...super.getConfig(), groups: this.groups, axis: this.axis };
  }
}

registerLayer('GroupNormalization', (config) => GroupNormalization.fromConfig(config as Partial<GroupNormalizationConfig>));
