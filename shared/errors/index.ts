export {
  asInputError,
  BackendError,
  ConfigError,
  InputError,
  RnnstreamError,
  ShapeError,
} from './rnnstream-errors.js';
export { closestName } from './closest-name.js';
export { renderValue } from './render-value.js';
